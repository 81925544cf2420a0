"""vae_cnn: seed 004's convolutional VAE (Tables 1-2): 3 x [Conv2d(., 8, 3, p 1),
ReLU, MaxPool2d(2)] then Linear(72, 40); Linear(20, 72), ConvTranspose2d(8, 8, 2,
s 2, output_padding 1), ReLU, two more ConvTranspose2d(8, 8, 2, s 2) with ReLU,
Conv2d(8, 1, 3, p 1), Sigmoid.  Loss MSE(sum) + KL per row, Adam lr 1e-3,
batch 128, float32; batches timed and scaled to 60000 rows."""
import common
torch = common.torch(0)
nn, F = torch.nn, torch.nn.functional

N, NZ, B = 60000, 20, 128
BATCHES = 20 if common.QUICK else 120
data = torch.rand(N, 1, 28, 28, generator=torch.Generator().manual_seed(0)) ** 3
layers = []
for cin in (1, 8, 8):
    layers += [nn.Conv2d(cin, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
enc = nn.Sequential(*layers, nn.Flatten(), nn.Linear(72, 2 * NZ))
fc = nn.Linear(NZ, 72)
dec = nn.Sequential(nn.ConvTranspose2d(8, 8, 2, stride=2, output_padding=1), nn.ReLU(),
                    nn.ConvTranspose2d(8, 8, 2, stride=2), nn.ReLU(),
                    nn.ConvTranspose2d(8, 8, 2, stride=2), nn.ReLU(),
                    nn.Conv2d(8, 1, 3, padding=1), nn.Sigmoid())
params = [p for m in (enc, fc, dec) for p in m.parameters()]
opt = torch.optim.Adam(params, lr=1e-3)


def train(nb, start):
    t0 = common.now()
    for i in range(nb):
        s = ((start + i) * B) % (N - B + 1)
        x = data[s:s + B]
        mean, logvar = enc(x).chunk(2, 1)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        xr = dec(fc(z).view(-1, 8, 3, 3))
        loss = (F.mse_loss(xr, x, reduction="sum")
                - 0.5 * torch.sum(1 + logvar - mean ** 2 - logvar.exp())) / B
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return (common.now() - t0) / nb * N / B, loss.item()


train(10, 0)
runs = [train(BATCHES, 10 + r * BATCHES) for r in range(1 if common.QUICK else 3)]
# forward multiply-adds per row: the convolutions as dense products, the
# transposed ones counted on their input positions
macs = (28 * 28 * 8 * 9 + (14 * 14 + 7 * 7) * 8 * 8 * 9 + 72 * 40 + 20 * 72
        + (3 * 3 + 7 * 7 + 14 * 14) * 8 * 8 * 4 + 28 * 28 * 8 * 9)
common.emit("vae_cnn", "pytorch", common.median([t for t, _ in runs]), "s/epoch",
            last_loss=round(runs[-1][1], 4), flops=N * (3 * 2 * macs - 2 * 28 * 28 * 8 * 9))
