"""Tokenization speed: ``StaticModel.tokenize`` (one text per call), the batch tokenizer, and loading."""

from __future__ import annotations

from . import common

KINDS = ["short", "paragraph", "long", "broad"]


class Tokenize:
    """``model.tokenize(t)`` for each of ``n`` texts. warm: the tokenizer's word cache already holds their words;
    cold: a fresh model (empty cache) per call, its load included."""

    params = (KINDS, [1024], ["warm", "cold"])
    param_names = ["texts", "n", "state"]
    timeout = 300

    def setup(self, kind, n, state):
        self.path = common.model_path()
        self.texts = common.texts(kind, n)
        self.model = common.load_model(self.path)
        for text in self.texts:
            self.model.tokenize(text)

    def time_tokenize(self, kind, n, state):
        model = self.model if state == "warm" else common.load_model(self.path)
        tokenize = model.tokenize
        for text in self.texts:
            tokenize(text)


class TokenizeBatch:
    """The batch tokenizer ``encode`` uses (the private ``_tokenize_batch``; skipped if it is gone), warm."""

    params = (KINDS,)
    param_names = ["texts"]
    timeout = 300

    def setup(self, kind):
        self.model = common.load_model(common.model_path())
        self.batch = getattr(self.model, "_tokenize_batch", None)
        if self.batch is None:
            raise NotImplementedError("StaticModel._tokenize_batch is gone")
        self.texts = common.texts(kind, 1024)
        self.batch(self.texts, 0)

    def time_tokenize_batch(self, kind):
        self.batch(self.texts, 0)


class Load:
    """``StaticModel.from_pretrained`` of a generated model: metadata, vocabulary module, tokenizer, mmap."""

    def setup(self):
        self.path = common.model_path()
        common.load_model(self.path)

    def time_load(self):
        common.load_model(self.path)

    def peakmem_load(self):
        common.load_model(self.path)
