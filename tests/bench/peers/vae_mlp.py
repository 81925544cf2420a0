"""vae_mlp: seed 004's MLP VAE (784-500-2x20 tanh encoder, 20-500-784 sigmoid
decoder), loss MSE(sum) + KL per batch row, Adam lr 1e-3, batch 128, float32;
one timed epoch of 60000 rows after 20 warm-up batches."""
import common
torch = common.torch(0)
nn, F = torch.nn, torch.nn.functional

N, NX, NH, NZ, B = 60000, 784, 500, 20, 128
data = torch.rand(N, NX, generator=torch.Generator().manual_seed(0)) ** 3
enc = nn.Sequential(nn.Linear(NX, NH), nn.Tanh(), nn.Linear(NH, 2 * NZ))
dec = nn.Sequential(nn.Linear(NZ, NH), nn.Tanh(), nn.Linear(NH, NX), nn.Sigmoid())
opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3)


def step(x):
    mean, logvar = enc(x).chunk(2, 1)
    z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
    loss = (F.mse_loss(dec(z), x, reduction="sum")
            - 0.5 * torch.sum(1 + logvar - mean ** 2 - logvar.exp())) / x.shape[0]
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss


def epoch(nb=None):
    t0 = common.now()
    for i, s in enumerate(range(0, N, B)):
        if nb is not None and i >= nb:
            break
        loss = step(data[s:s + B])
    return common.now() - t0, loss.item()


epoch(20)
runs = [epoch() for _ in range(1 if common.QUICK else 3)]
macs = NX * NH + NH * 2 * NZ + NZ * NH + NH * NX                 # forward, per row
common.emit("vae_mlp", "pytorch", common.median([t for t, _ in runs]), "s/epoch",
            last_loss=round(runs[-1][1], 4), flops=N * (3 * 2 * macs - 2 * NX * NH))
