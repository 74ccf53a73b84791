"""Real runs: sleep-time and test-time compute against real LLM endpoints, written as traces.

An OpenAI-compatible base URL or a LiteLLM model string (:class:`Endpoint`), an async client
with retries and a SQLite response cache (:class:`ChatClient`, :class:`ResponseCache`), the
protocol's prompts and levels (:class:`Protocol`), the designs (:class:`Grid`,
:class:`PolicyDesign`) and the collector that writes one trace record per answer
(:func:`collect`), Batch API files (:func:`write_batch_file`, :func:`import_batch_results`),
and a local llama.cpp server for the embedded default (:class:`LocalServer`). Every number a
real run produces is *measured*.
"""

from __future__ import annotations

from sleeptime.live._batch import BatchImport, import_batch_results, write_batch_file
from sleeptime.live._cache import ResponseCache, request_key
from sleeptime.live._client import (
    ChatClient,
    ChatRequest,
    ChatResponse,
    ClientStats,
    Endpoint,
    parse_completion,
    preflight,
)
from sleeptime.live._collect import (
    LIVE_TRACE_FIELDS,
    CollectProgress,
    CollectStats,
    Grid,
    PolicyDesign,
    Pricing,
    collect,
    design_records,
)
from sleeptime.live._deploy import (
    DeployRun,
    ServedStats,
    deploy_policy,
    protocol_composer,
    serve_through_litellm,
)
from sleeptime.live._errors import LiveError, RequestFailed
from sleeptime.live._grade import (
    GradeResult,
    Reference,
    grade_at,
    grade_records,
    summarize_grades,
    write_graded,
)
from sleeptime.live._jsonl import read_records, sleep_outputs_path
from sleeptime.live._judge import (
    VERDICTS,
    Agreement,
    JudgePrompt,
    Verdict,
    agreement,
    cohen_kappa,
    judge_usd,
    parse_verdict,
    verdict_bias,
)
from sleeptime.live._llama_build import (
    ServerBuild,
    ServerBuildResult,
    build_local_server,
    build_server,
    cpu_report,
    installed_build,
)
from sleeptime.live._notes import NotesExport, export_notes, note_examples, trace_files
from sleeptime.live._protocol import VIEWS, Budget, Prompts, Protocol, SleepLevel, sleep_output_id
from sleeptime.live._server import (
    LocalServer,
    ServerBinary,
    default_model_file,
    explain_exit,
    server_binary,
    server_executable,
)
from sleeptime.live._setup import (
    describe_endpoints,
    exploration_grid,
    open_endpoint,
    open_endpoints,
    price_entries,
)
from sleeptime.live._stale import (
    CONDITIONS,
    StaleEffect,
    fit_stale_effect,
    measure_stale,
    read_stale_records,
)
from sleeptime.live._summary import CellSummary, summarize_cells

__all__ = [
    "CONDITIONS",
    "LIVE_TRACE_FIELDS",
    "VERDICTS",
    "VIEWS",
    "Agreement",
    "BatchImport",
    "Budget",
    "CellSummary",
    "ChatClient",
    "ChatRequest",
    "ChatResponse",
    "ClientStats",
    "CollectProgress",
    "CollectStats",
    "DeployRun",
    "Endpoint",
    "GradeResult",
    "Grid",
    "JudgePrompt",
    "LiveError",
    "LocalServer",
    "NotesExport",
    "PolicyDesign",
    "Pricing",
    "Prompts",
    "Protocol",
    "Reference",
    "RequestFailed",
    "ResponseCache",
    "ServedStats",
    "ServerBinary",
    "ServerBuild",
    "ServerBuildResult",
    "SleepLevel",
    "StaleEffect",
    "Verdict",
    "agreement",
    "build_local_server",
    "build_server",
    "cohen_kappa",
    "collect",
    "cpu_report",
    "default_model_file",
    "deploy_policy",
    "describe_endpoints",
    "design_records",
    "explain_exit",
    "exploration_grid",
    "export_notes",
    "fit_stale_effect",
    "grade_at",
    "grade_records",
    "import_batch_results",
    "installed_build",
    "judge_usd",
    "measure_stale",
    "note_examples",
    "open_endpoint",
    "open_endpoints",
    "parse_completion",
    "parse_verdict",
    "preflight",
    "price_entries",
    "protocol_composer",
    "read_records",
    "read_stale_records",
    "request_key",
    "serve_through_litellm",
    "server_binary",
    "server_executable",
    "sleep_output_id",
    "sleep_outputs_path",
    "summarize_cells",
    "summarize_grades",
    "trace_files",
    "verdict_bias",
    "write_batch_file",
    "write_graded",
]
