"""dfs_async: an asyncio client for DataForSEO's AI Optimization LLM Responses API."""

from ._budget import DEFAULT_COSTS
from ._client import AsyncClient
from ._config import Limits, RetryPolicy
from ._control import SweepControl
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
    GovernorUnavailableError,
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
from ._governance import Governor, GovernorState, LocalGovernor, PlatformState, RedisGovernor
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
from ._plan import PromptItem
from ._preview import SweepPlan, TargetEstimate, plan_sweep
from ._receiver import CallbackReceiver, Delivery
from ._requests import ChainMessage, LiveRequest
from ._results import ErrorRecord, PromptResult, ResultRecord, Target, request_key
from ._sink import JsonlSink, read_results
from ._standard_models import PostedTask, ReadyTask, TaskPostResponse, TasksReadyResponse
from ._stats import ClientStats
from ._transport import AiohttpTransport, Transport
from ._types import PLATFORMS, Platform
from ._validation import prepare_request
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
    "GovernorUnavailableError",
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
    "PromptItem",
    "PromptResult",
    "QueueTimeoutError",
    "RateLimitError",
    "ReadyTask",
    "RedisGovernor",
    "ResultRecord",
    "ResultsFileError",
    "ResultsFileInUseError",
    "RetryPolicy",
    "Section",
    "ServerError",
    "SweepControl",
    "SweepPlan",
    "Target",
    "TargetEstimate",
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
    "plan_sweep",
    "prepare_request",
    "read_results",
    "request_key",
]
