"""gmm_sgd: a K-component full-covariance GMM (Sigma_k = A_k A_k^T + 1e-4 I,
weights softmax(logits)) fitted by Adam (lr 1e-3, batch 512) on the mean NLL,
d = 256, N = 100000, float32, batched cholesky and solve_triangular over K;
K = 16 and 64, batches timed and scaled to an epoch."""
import common
import math
torch = common.torch(0)

N, D, B, EPS = 100000, 256, 512, 1e-4
g = torch.Generator().manual_seed(0)
C = torch.randn(D, D, generator=g) / math.sqrt(D)
X = (torch.randn(N, D, generator=g) @ C.T + torch.randn(D, generator=g)).contiguous()


def run(K, batches):
    torch.manual_seed(K)
    mu = X[torch.randperm(N)[:K]].clone().requires_grad_(True)
    A = (torch.eye(D).expand(K, D, D) + 0.01 * torch.randn(K, D, D)).contiguous().requires_grad_(True)
    logits = torch.zeros(K, requires_grad=True)
    opt = torch.optim.Adam([mu, A, logits], lr=1e-3)

    def step(xb):
        L = torch.linalg.cholesky(A @ A.transpose(1, 2) + EPS * torch.eye(D))
        z = torch.linalg.solve_triangular(L, (xb.unsqueeze(0) - mu.unsqueeze(1)).transpose(1, 2), upper=False)
        logdet = 2 * torch.log(torch.diagonal(L, dim1=1, dim2=2)).sum(1)
        logp = -0.5 * (z.pow(2).sum(1) + logdet.unsqueeze(1) + D * math.log(2 * math.pi))
        loss = -torch.logsumexp(torch.log_softmax(logits, 0).unsqueeze(1) + logp, 0).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    def go(nb, start):
        t0 = common.now()
        for i in range(nb):
            s = ((start + i) * B) % (N - B + 1)
            loss = step(X[s:s + B])
        return (common.now() - t0) / nb * N / B, loss.item()

    go(2, 0)
    runs = [go(batches, 2 + r * batches) for r in range(1 if common.QUICK else 3)]
    common.emit("gmm_sgd", "pytorch", common.median([t for t, _ in runs]), "s/epoch", K=K,
                dtype="float32", last_loss=round(runs[-1][1], 4))


run(16, 6 if common.QUICK else 20)
run(64, 3 if common.QUICK else 8)
