"""dfs_async: an asyncio client for DataForSEO's AI Optimization LLM Responses API."""

from ._client import AsyncClient
from ._config import Limits, RetryPolicy
from ._errors import (
    APIError,
    AuthError,
    BillingError,
    BudgetExceededError,
    ConcurrencyLimitError,
    CostLimitError,
    CredentialsError,
    DeadlineExceededError,
    DecodeError,
    DFSError,
    DuplicateTaskLimitError,
    ExecutionTimeoutError,
    InvalidRequestError,
    NotFoundError,
    QueueTimeoutError,
    RateLimitError,
    ServerError,
    TaskPendingError,
    TransportError,
    ValidationError,
)
from ._fanout import gather_prompts, iter_prompts
from ._governance import Governor, GovernorState, LocalGovernor, PlatformState
from ._models import (
    Annotation,
    Item,
    LiveResponse,
    LiveResult,
    LiveTask,
    ModelInfo,
    ModelsResponse,
    Section,
    UserData,
    UserDataResponse,
)
from ._requests import ChainMessage, LiveRequest
from ._results import ErrorRecord, PromptResult, ResultRecord, Target, request_key
from ._sink import JsonlSink, read_results
from ._stats import ClientStats
from ._transport import AiohttpTransport, Transport
from ._types import PLATFORMS, Platform
from ._version import __version__

__all__ = [
    "PLATFORMS",
    "APIError",
    "AiohttpTransport",
    "Annotation",
    "AsyncClient",
    "AuthError",
    "BillingError",
    "BudgetExceededError",
    "ChainMessage",
    "ClientStats",
    "ConcurrencyLimitError",
    "CostLimitError",
    "CredentialsError",
    "DFSError",
    "DeadlineExceededError",
    "DecodeError",
    "DuplicateTaskLimitError",
    "ErrorRecord",
    "ExecutionTimeoutError",
    "Governor",
    "GovernorState",
    "InvalidRequestError",
    "Item",
    "JsonlSink",
    "Limits",
    "LiveRequest",
    "LiveResponse",
    "LiveResult",
    "LiveTask",
    "LocalGovernor",
    "ModelInfo",
    "ModelsResponse",
    "NotFoundError",
    "Platform",
    "PlatformState",
    "PromptResult",
    "QueueTimeoutError",
    "RateLimitError",
    "ResultRecord",
    "RetryPolicy",
    "Section",
    "ServerError",
    "Target",
    "TaskPendingError",
    "Transport",
    "TransportError",
    "UserData",
    "UserDataResponse",
    "ValidationError",
    "__version__",
    "gather_prompts",
    "iter_prompts",
    "read_results",
    "request_key",
]
