"""Django's argon2 hasher with argon2-cffi's default parameters.

Django's own Argon2PasswordHasher uses 2 passes, 100 MiB and 8 lanes; the
comparison with sspr wants the parameters argon2-cffi recommends (and sspr's
default profile, RFC_9106_LOW_MEMORY, has): 3 passes, 64 MiB, 4 lanes.
"""

from __future__ import annotations

import argon2
from django.contrib.auth.hashers import Argon2PasswordHasher

_DEFAULTS = argon2.PasswordHasher()


class Argon2DefaultsHasher(Argon2PasswordHasher):
    time_cost = _DEFAULTS.time_cost
    memory_cost = _DEFAULTS.memory_cost
    parallelism = _DEFAULTS.parallelism
