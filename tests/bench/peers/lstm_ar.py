"""lstm_ar: seed 000's autoregressive model of 5x5 binary images: a 2-layer
LSTM (input 1, hidden 32) and Linear(32, 1), teacher forcing from a start
symbol 0, BCE with logits, Adam lr 1e-2, batch 32, float32: 1000 steps."""
import common
torch = common.torch(0)
nn = torch.nn

T, H, B, STEPS = 25, 32, 32, 1000
field = nn.functional.avg_pool2d(torch.rand(60000, 1, 7, 7, generator=torch.Generator().manual_seed(0)),
                                 3, stride=1)
data = (field > 0.5).float().view(-1, T)
lstm, out = nn.LSTM(1, H, num_layers=2, batch_first=True), nn.Linear(H, 1)
opt = torch.optim.Adam(list(lstm.parameters()) + list(out.parameters()), lr=1e-2)
bce = nn.BCEWithLogitsLoss()


def train(nsteps, start):
    t0 = common.now()
    for i in range(nsteps):
        s = ((start + i) * B) % (data.shape[0] - B + 1)
        x = data[s:s + B]
        y, _ = lstm(torch.cat([torch.zeros(B, 1), x[:, :-1]], 1).unsqueeze(-1))
        loss = bce(out(y).squeeze(-1), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return common.now() - t0, loss.item()


train(20, 0)
runs = [train(STEPS, 20 + r * STEPS) for r in range(1 if common.QUICK else 3)]
macs = 4 * H * (1 + H) + 4 * H * 2 * H + H                       # per row and time step
common.emit("lstm_ar", "pytorch", common.median([t for t, _ in runs]), "s/1000steps",
            phase="train", last_loss=round(runs[-1][1], 4), flops=STEPS * 3 * 2 * macs * T * B)
