"""Side-by-side speed comparison with the libraries this package replaces, in one process, interleaved.

Every system embeds the same texts with the same table and tokenizer: by default the asv suite's bench model
(``benchmarks/common.py``: the real static-retrieval-mrl-en-v1 tokenizer from ``tests/data`` with a random table
of its real shape, 30522 x 1024 float32, fixed seed, in the sentence-transformers and model2vec layouts, generated
for fastembed-static) and the asv suite's texts. Repeats run round-robin (A B C, B C A, C A B, ...) so that a noisy
machine slows every system alike; the figures are medians. Before any timing the systems' outputs are compared,
and the check is printed. Each threading mode is a section of its own: ``1`` (every system on one thread) and
``default`` (every system as it runs out of the box).

Modules: ``workloads`` (the bench model and the texts), ``systems`` (one adapter per system: adding a peer is one
function and one line in ``make_systems``), ``timing`` (interleaved timing, latency, agreement, cold start, memory,
machine load), ``report`` (summary, goals, markdown), ``cli`` (options and the run).

Systems (the ones not installed are skipped, with a note):

- ``fastembed-static``: ``StaticModel.encode`` (this package); with ``--dims`` below the model's, ``encode(dim=)``
  and a model generated with ``dims=``; tables stored as ``--dtypes`` (float16, int8); ``workers=`` 1 and 2 (worker
  processes since issue 18) and ``threads=2``;
- ``sentence-transformers``: ``SentenceTransformer`` with a ``StaticEmbedding`` module on the same files;
- ``model2vec``: ``model2vec.StaticModel`` on the same table and tokenizer in the model2vec layout;
- ``laghu+laghu-rs``: ``laghu.load`` of the model2vec layout, Rust WordPiece and fused pooling (laghu-rs);
- ``static-embed-runner``: ``StaticEmbedRunner.load`` of the sentence-transformers layout, numpy only, its
  pure-Python WordPiece;
- ``tokenizers+numpy``: the hand-written obvious way, HF ``tokenizers.encode_batch`` + ``np.add.reduceat``;
- floors: HF tokenizers alone, nanotoken alone, fastembed-static's tokenizer alone, torch
  ``EmbeddingBag(mode="mean")`` over precomputed ids, and fastembed-static's pooling alone over precomputed ids.

Heavy libraries are imported inside functions only.
"""
