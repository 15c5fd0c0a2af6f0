"""Deterministic call routing (ACD): who is offered which call, and when. Pure; the hub drives it."""

from shopcall.routing.engine import ActiveCall, Router, RoutingError
from shopcall.routing.metrics import MetricsBook, QueueMetrics
from shopcall.routing.model import (
    Abandoned,
    Action,
    AgentState,
    AgentStatus,
    Assigned,
    CallEnded,
    Expired,
    Invited,
    QueuedCall,
    QueueUpdate,
    Ring,
    RoutingPolicy,
    StopRinging,
    Transferred,
)

__all__ = [
    "Abandoned", "Action", "ActiveCall", "AgentState", "AgentStatus", "Assigned", "CallEnded", "Expired",
    "Invited", "MetricsBook", "QueueMetrics", "QueueUpdate", "QueuedCall", "Ring", "Router", "RoutingError",
    "RoutingPolicy", "StopRinging", "Transferred",
]
