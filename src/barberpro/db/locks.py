"""PostgreSQL advisory lock keys, shared by every instance of the service.

Any constants work; they only have to be the same in every instance.
"""

from __future__ import annotations

MIGRATIONS = 0x6261726265727072  # b"barberpr": one instance migrates at a time
WRITER = 0x6261726265726576  # b"barberev": one event transaction at a time in the cluster
