"""epll_gd: gradient steps of EPLL-style denoising of a 256x256 image (noise
sigma 25/255) on ||X - Y||^2 - lambda mean_i log q(P_i X) over its 58081
overlapping 16x16 patches, q a fixed GMM of K = 64 full covariances (random
valid: Sigma_k = A A^T / d + 0.01 I), PyTorch autograd, float32.  The log-
densities are one GEMM per chunk of components with the precision factors
U_k = L_k^-T (as scikit-learn computes them); the factors are made once,
untimed."""
import common
import math
torch = common.torch(0)
F = torch.nn.functional

H, PS, D, K, KC = 256, 16, 256, 64, 8
SIGMA, LAM, LR = 25 / 255, 10.0, 0.05
NP = (H - PS + 1) ** 2
STEPS = 1 if common.QUICK else 3
g = torch.Generator().manual_seed(0)
clean = F.avg_pool2d(torch.rand(1, 1, H + 14, H + 14, generator=g), 15, stride=1)[0, 0]
clean = (clean - clean.min()) / (clean.max() - clean.min())
Y = clean + SIGMA * torch.randn(H, H, generator=g)
A = torch.randn(K, D, D, generator=g)
L = torch.linalg.cholesky(A @ A.transpose(1, 2) / D + 0.01 * torch.eye(D))
mu = 0.5 + 0.1 * torch.randn(K, D, generator=g)
logw = torch.log_softmax(torch.randn(K, generator=g), 0)
U = torch.linalg.solve_triangular(L, torch.eye(D).expand(K, D, D), upper=False).transpose(1, 2)
Ucat = U.permute(1, 0, 2).reshape(D, K * D).contiguous()          # [U_1 ... U_K]
b = torch.einsum("kd,kde->ke", mu, U)
const = logw - torch.log(torch.diagonal(L, dim1=1, dim2=2)).sum(1) - 0.5 * D * math.log(2 * math.pi)


def loglik(P):
    parts = []
    for k0 in range(0, K, KC):
        Z = (P @ Ucat[:, k0 * D:(k0 + KC) * D]).view(NP, KC, D) - b[k0:k0 + KC]
        parts.append(const[k0:k0 + KC] - 0.5 * Z.pow(2).sum(2))
    return torch.logsumexp(torch.cat(parts, 1), 1).mean()


X = Y.clone().requires_grad_(True)


def step():
    t0 = common.now()
    loss = (X - Y).pow(2).sum() - LAM * loglik(F.unfold(X[None, None], PS)[0].T)
    loss.backward()
    with torch.no_grad():
        X.sub_(LR * X.grad)
        X.grad = None
    return common.now() - t0


step()
common.emit("epll_gd", "pytorch", common.median([step() for _ in range(STEPS)]), "s/step",
            method="precision_gemm", K=K, dtype="float32", flops=4 * K * NP * D * D)
