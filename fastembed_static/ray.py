"""Ray Data batch inference: embed a column of a ``ray.data.Dataset`` with an actor pool.

``Embedder`` is :class:`fastembed_static.arrow.Embedder`; this module does not import Ray (nor does the class), so
it can be imported, pickled and tested anywhere. Install ``fastembed-static[ray]`` for Ray Data itself::

    import ray
    from fastembed_static.ray import Embedder

    ds = ray.data.read_parquet(src).repartition(target_num_rows_per_block=100_000)
    ds = ds.map_batches(
        Embedder,
        fn_constructor_kwargs={"model": None, "text_column": "text"},  # None: the bundled model; or a hub id, a path
        batch_format="pyarrow",
        batch_size=4096,
        compute=ray.data.ActorPoolStrategy(size=2),  # one model per actor, loaded once in __init__
    )
    ds.write_parquet(dst)

Ray Data restarts an actor that dies and redoes its batch (its actor pools default to ``max_restarts=-1`` and
``max_task_retries=-1``). Only the constructor arguments travel to the actors; each actor maps the model's table from
the node's disk, so the actors of one node share it through the page cache. Give Ray more logical CPUs than actors
(the read tasks need a slot). See README, "Beyond one machine".
"""

from __future__ import annotations

from fastembed_static.arrow import Embedder

__all__ = ["Embedder"]
