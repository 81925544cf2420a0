"""rbm_cdk: a binary RBM (784 x 128) trained by CD-k, k = 1, 5, 25, batch 64,
SGD lr 0.01, float32, the update written out (no autograd), samples drawn as
rand < p.  Batches are timed and scaled to an epoch of 60000 rows."""
import common
torch = common.torch(0)

NV, NH, B, N, LR = 784, 128, 64, 60000, 0.01
data = (torch.rand(N, NV, generator=torch.Generator().manual_seed(0)) < 0.13).float()


def bern(p):
    return (torch.rand_like(p) < p).float()


def epoch_seconds(k, batches):
    torch.manual_seed(k)
    W, b, c = 0.01 * torch.randn(NV, NH), torch.zeros(NV), torch.zeros(NH)

    def train(nb, start):
        t0 = common.now()
        for i in range(nb):
            s = ((start + i) * B) % (N - B + 1)
            v0 = data[s:s + B]
            ph0 = torch.sigmoid(v0 @ W + c)
            h, v, ph = bern(ph0), v0, ph0
            for _ in range(k):
                v = bern(torch.sigmoid(h @ W.T + b))
                ph = torch.sigmoid(v @ W + c)
                h = bern(ph)
            W.add_(v0.T @ ph0 - v.T @ ph, alpha=LR / B)
            b.add_((v0 - v).mean(0), alpha=LR)
            c.add_((ph0 - ph).mean(0), alpha=LR)
        return (common.now() - t0) / nb * N / B

    train(20, 0)
    return common.median([train(batches, 20 + r * batches) for r in range(1 if common.QUICK else 3)])


for k, nb in ((1, 300), (5, 150), (25, 40)):
    nb = max(10, nb // 5) if common.QUICK else nb
    t = epoch_seconds(k, nb)
    common.emit("rbm_cdk", "pytorch", t, "s/epoch", k=k, sampler="rand_lt",
                flops=(N / B) * (2 * k + 3) * 2 * B * NV * NH)
