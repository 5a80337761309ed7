"""The offline engine's embedding classifier for team and kind.

Typical use::

    classifier = load_or_train(settings.classifier_dir, embedder, teams)
    prediction = classifier.predict(embedding, text=ticket.text, subject_embedding=subject)

Inference needs numpy only; sklearn is imported when (re)training.
"""

from agent.classifier.embedding_classifier import (
    EmbeddingClassifier,
    add_and_train,
    load_or_train,
)
from agent.classifier.examples import Example, ExampleError, parse_example, read_rows

__all__ = [
    "EmbeddingClassifier",
    "add_and_train",
    "Example",
    "ExampleError",
    "load_or_train",
    "parse_example",
    "read_rows",
]
