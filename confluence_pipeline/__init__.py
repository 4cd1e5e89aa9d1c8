"""A searchable, always-fresh copy of Confluence in PostgreSQL + pgvector, kept by Dagster."""

import atexit
import gc

# Commands, their space processes and Dagster's run and step workers are short-lived processes holding a few hundred
# thousand objects (Dagster, SQLAlchemy, pydantic). While the interpreter tears its modules down at exit it runs the
# garbage collector over all of them again, about a second per process here; frozen objects are skipped. The cleanup
# that matters still runs: atexit handlers, weakref finalizers, and every object freed by its reference count.
atexit.register(gc.freeze)
