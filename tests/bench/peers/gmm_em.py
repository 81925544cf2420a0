"""gmm_em: one EM iteration of scikit-learn's GaussianMixture (K = 64 full
covariances, d = 256, N = 100000, float64), timed as fit() runs it: _e_step
then _m_step.  The points come from K clusters (centres 2 randn, one shared
covariance C C^T); the mixture starts from a short fit on 4000 of them."""
import common
import warnings
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

warnings.simplefilter("ignore", ConvergenceWarning)
N, D, K = 100000, 256, 64
rng = np.random.default_rng(0)
centres = 2 * rng.standard_normal((K, D))
C = rng.standard_normal((D, D)) / np.sqrt(D)
X = rng.standard_normal((N, D)) @ C.T + centres[rng.integers(0, K, N)]
gm = GaussianMixture(K, covariance_type="full", tol=0, max_iter=1, init_params="random",
                     random_state=0, reg_covar=1e-6).fit(X[:4000])
t0 = common.now()
ll, log_resp = gm._e_step(X)
t1 = common.now()
gm._m_step(X, log_resp)
t2 = common.now()
common.emit("gmm_em", "sklearn", t2 - t0, "s/iter", K=K, dtype="float64",
            e_step_seconds=round(t1 - t0, 4), m_step_seconds=round(t2 - t1, 4),
            mean_log_lik=round(float(ll), 4), flops=K * (4 * N * D * D + 2 / 3 * D ** 3))
