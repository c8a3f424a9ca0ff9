"""dfs_async: an asyncio client for DataForSEO's AI Optimization LLM Responses API."""

from ._config import Limits, RetryPolicy
from ._errors import (
    APIError,
    AuthError,
    BillingError,
    BudgetExceededError,
    ConcurrencyLimitError,
    ConnectError,
    ConnectionLostError,
    CostLimitError,
    CredentialsError,
    DeadlineExceededError,
    DecodeError,
    DFSError,
    DuplicateTaskLimitError,
    ExecutionTimeoutError,
    GatewayError,
    GovernorUnavailableError,
    InvalidRequestError,
    NotFoundError,
    NotSentError,
    OutcomeUnknownError,
    QueueTimeoutError,
    RateLimitError,
    ResponseTooLargeError,
    ResultsFileError,
    ResultsFileInUseError,
    ServerError,
    TaskPendingError,
    TransportError,
    ValidationError,
)
from ._governance import Governor, GovernorState, LocalGovernor, PlatformState, RedisGovernor
from ._http._client import AsyncClient
from ._http._receiver import CallbackReceiver, Delivery
from ._http._stats import ClientStats
from ._http._transport import AiohttpTransport, Transport
from ._platforms import PLATFORMS, Platform
from ._records._records import ErrorRecord, PromptResult, ResultRecord, Target
from ._records._sink import JsonlSink, read_results
from ._sweep._budget import DEFAULT_COSTS
from ._sweep._control import SweepControl
from ._sweep._items import PromptItem
from ._sweep._plan import SweepPlan, TargetEstimate, plan_sweep
from ._sweep._sweep import gather_prompts, iter_prompts
from ._version import __version__
from ._wire._decode import decode_response
from ._wire._keys import request_key
from ._wire._models import (
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
from ._wire._requests import ChainMessage, LiveRequest
from ._wire._tasks import PostedTask, ReadyTask, TaskPostResponse, TasksReadyResponse
from ._wire._validation import prepare_request

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
    "ConnectError",
    "ConnectionLostError",
    "CostLimitError",
    "CredentialsError",
    "DFSError",
    "DeadlineExceededError",
    "DecodeError",
    "Delivery",
    "DuplicateTaskLimitError",
    "ErrorRecord",
    "ExecutionTimeoutError",
    "GatewayError",
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
    "NotSentError",
    "OutcomeUnknownError",
    "Platform",
    "PlatformState",
    "PostedTask",
    "PromptItem",
    "PromptResult",
    "QueueTimeoutError",
    "RateLimitError",
    "ReadyTask",
    "RedisGovernor",
    "ResponseTooLargeError",
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
    "decode_response",
    "gather_prompts",
    "iter_prompts",
    "plan_sweep",
    "prepare_request",
    "read_results",
    "request_key",
]


def _shorten_module_paths() -> None:
    """Public classes and functions say they live in `dfs_async` (reprs, docs, pickles), not
    in the private module that defines them, as httpx and anyio do.

    Structs and dataclasses keep their own module: msgspec and `typing.get_type_hints` resolve
    their postponed annotations in it.
    """
    import dataclasses
    import inspect

    import msgspec

    namespace = globals()
    for name in __all__:
        obj = namespace[name]
        if inspect.isfunction(obj) or (
            isinstance(obj, type)
            and not issubclass(obj, msgspec.Struct)
            and not dataclasses.is_dataclass(obj)
        ):
            obj.__module__ = __name__


_shorten_module_paths()
