"""dfs_async: an asyncio client for DataForSEO's AI Optimization LLM Responses API."""

from ._budget import DEFAULT_COSTS
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
    ResultsFileError,
    ResultsFileInUseError,
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
from ._receiver import CallbackReceiver, Delivery
from ._requests import ChainMessage, LiveRequest
from ._results import ErrorRecord, PromptResult, ResultRecord, Target, request_key
from ._sink import JsonlSink, read_results
from ._standard_models import PostedTask, ReadyTask, TaskPostResponse, TasksReadyResponse
from ._stats import ClientStats
from ._transport import AiohttpTransport, Transport
from ._types import PLATFORMS, Platform
from ._version import __version__

__all__ = [
    "DEFAULT_COSTS",
    "PLATFORMS",
    "APIError",
    "AiohttpTransport",
    "Annotation",
    "AsyncClient",
    "AuthError",
    "BillingError",
    "BudgetExceededError",
    "CallbackReceiver",
    "ChainMessage",
    "ClientStats",
    "ConcurrencyLimitError",
    "CostLimitError",
    "CredentialsError",
    "DFSError",
    "DeadlineExceededError",
    "DecodeError",
    "Delivery",
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
    "PostedTask",
    "PromptResult",
    "QueueTimeoutError",
    "RateLimitError",
    "ReadyTask",
    "ResultRecord",
    "ResultsFileError",
    "ResultsFileInUseError",
    "RetryPolicy",
    "Section",
    "ServerError",
    "Target",
    "TaskPendingError",
    "TaskPostResponse",
    "TasksReadyResponse",
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
