"""One registry of KL divergences between a posterior and a prior.

Models call `kl_divergence(posterior, prior)`; a new prior plugs in by
registering its KL with `register_kl`, without touching the models.
"""

from keras import ops

from keras_dvae.distributions.categorical import Bernoulli, Categorical
from keras_dvae.utils import checks
from keras_dvae.utils.numerics import log_sigmoid

_REGISTRY = {}


def register_kl(type_a, type_b):
    """Decorator registering `fn(a, b)` as KL(a ‖ b) for the two types.

    `fn` receives a posterior of `type_a` and a prior of `type_b` (or
    subclasses) and returns the KL reduced over the event axes only.

    Raises:
        ValueError: if either argument is not a class, or the pair is already
            registered.

    Example:

    >>> from keras_dvae.distributions import Categorical
    >>> class MyPrior(Categorical):
    ...     pass
    >>> @register_kl(Categorical, MyPrior)
    ... def _kl_categorical_my_prior(q, p):
    ...     return kl_divergence(q, Categorical(p.logits))
    """
    for name, value in (("type_a", type_a), ("type_b", type_b)):
        if not isinstance(value, type):
            raise ValueError(f"`{name}` must be a class. Received: {name}={value!r}")
    if (type_a, type_b) in _REGISTRY:
        raise ValueError(
            f"A KL divergence is already registered for ({type_a.__name__}, "
            f"{type_b.__name__}). Received: type_a={type_a.__name__}, "
            f"type_b={type_b.__name__}"
        )

    def decorator(fn):
        _REGISTRY[(type_a, type_b)] = fn
        return fn

    return decorator


def kl_divergence(posterior, prior):
    """KL(posterior ‖ prior) in nats, reduced over the event axes only.

    The lookup walks both classes' MROs (posterior first), so a KL
    registered for base classes serves subclasses.

    Raises:
        NotImplementedError: if no KL is registered for the pair, naming
            both classes.
    """
    for type_a in type(posterior).__mro__:
        for type_b in type(prior).__mro__:
            fn = _REGISTRY.get((type_a, type_b))
            if fn is not None:
                return fn(posterior, prior)
    raise NotImplementedError(
        f"No KL divergence registered for posterior {type(posterior).__name__} "
        f"and prior {type(prior).__name__}. Register one with "
        f"@register_kl({type(posterior).__name__}, {type(prior).__name__})."
    )


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(q, p):
    """KL = Σ_k q_k (log q_k − log p_k); log_softmax keeps it finite as q_k → 0."""
    checks.check_broadcastable("posterior.logits", q.logits, "prior.logits", p.logits)
    log_q = q.log_probs
    log_p = ops.cast(p.log_probs, log_q.dtype)
    return ops.sum(ops.exp(log_q) * (log_q - log_p), axis=-1)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(q, p):
    """KL = q (log q − log p) + (1 − q)(log(1 − q) − log(1 − p)), elementwise."""
    checks.check_broadcastable("posterior.logits", q.logits, "prior.logits", p.logits)
    lq = q.logits
    lp = ops.cast(p.logits, lq.dtype)
    prob = ops.sigmoid(lq)
    return prob * (log_sigmoid(lq) - log_sigmoid(lp)) + (1.0 - prob) * (
        log_sigmoid(-lq) - log_sigmoid(-lp)
    )
