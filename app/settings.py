"""Process settings: the one place that reads the environment (prefix `SIDEKICK_`)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Paths, endpoints and secrets. Per-run knobs travel in the graph's Context."""

    model_config = SettingsConfigDict(env_prefix="SIDEKICK_", env_file=None, extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    home: Path = Path(".sidekick")
    teams_file: Path | None = None
    corpus_dirs: list[Path] = Field(default_factory=list)

    # LLM engine: on when a base URL or an OpenAI key is set.
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SIDEKICK_LLM_API_KEY", "OPENAI_API_KEY")
    )
    llm_model: str = "gpt-4o-mini"
    llm_timeout_s: float = 30.0
    llm_max_retries: int = 3
    #: When the offline classifier is at least this sure, the LLM's classification call is skipped.
    llm_skip_classify_above: float = 0.9

    top_k: int = 5
    #: Below this team confidence the result says the team is uncertain and asks the hero.
    confidence_threshold: float = 0.45
    #: Cosine similarity above which an existing GitHub issue is linked instead of drafting one.
    link_threshold: float = 0.62

    @property
    def llm_enabled(self) -> bool:
        """Whether an LLM endpoint is configured."""
        return bool(self.llm_base_url or self.llm_api_key)

    @cached_property
    def chroma_dir(self) -> Path:
        """The persistent Chroma store."""
        return self.home / "chroma"

    @cached_property
    def checkpoint_db(self) -> Path:
        """The LangGraph SQLite checkpointer's file."""
        return self.home / "checkpoints.sqlite"

    @cached_property
    def classifier_dir(self) -> Path:
        """The trained classifier and the embeddings of its examples."""
        return self.home / "classifier"

    @cached_property
    def outbox_db(self) -> Path:
        """Where approved replies are recorded (the local delivery channel)."""
        return self.home / "outbox.sqlite"


def get_settings() -> Settings:
    """Read the settings from the environment, now (never at import)."""
    return Settings()
