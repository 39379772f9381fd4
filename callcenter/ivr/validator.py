"""Graph and reference checks over a set of flows; every problem at once, with positions.

Besides missing targets and unknown queues or schedules, two properties keep callers from
being stranded, and the engine relies on both:

- no cycle runs through nodes that wait for no caller input (play, set, branch, lookup,
  goto): such a loop would spin without end;
- following only what happens when the caller does nothing (menu and collect time out,
  lookups find nobody, dials ring out, queues overflow) never loops, so a silent caller
  always reaches a queue, dial, voicemail or hangup.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from callcenter.ivr import routes
from callcenter.ivr import schema as s
from callcenter.ivr.loader import Problem, load_files
from callcenter.ivr.prompts import Catalogue
from callcenter.ivr.schema import Flow, Node

INTERFACE_RE = re.compile(r"^[A-Za-z0-9]+/[^,\s|]+$")
Qid = tuple[str, str]  # (flow, node)


def _at(flow: Flow, reason: str, *path: str) -> Problem:
    mark = flow.mark(*path)
    return Problem(flow.file, mark.line, mark.column, reason)


def validate(
    flows: Iterable[Flow],
    *,
    queues: Collection[str] | None = None,
    catalogue: Catalogue | None = None,
) -> list[Problem]:
    """Problems of ``flows`` taken together (``goto`` may cross flows)."""
    flows = list(flows)
    by_name: dict[str, Flow] = {}
    problems: list[Problem] = []
    for flow in flows:
        if flow.name in by_name:
            other = by_name[flow.name].file
            problems.append(_at(flow, f"flow {flow.name!r} is also defined in {other}", "flow"))
            continue
        by_name[flow.name] = flow
    for flow in by_name.values():
        problems += _references(flow, by_name, queues, catalogue)
    graph, defaults, quiet = _graphs(by_name)
    problems += _reachability(by_name, graph)
    spinning = _components(quiet)
    problems += _report(by_name, spinning, "a loop that waits for no input")
    seen = {q for comp in spinning for q in comp}
    stuck = [c for c in _components(defaults) if not set(c) <= seen]
    problems += _report(by_name, stuck, "a caller who presses nothing never leaves: loop")
    return sorted(set(problems), key=lambda p: (p.file, p.line, p.column, p.reason))


def validate_paths(
    paths: Iterable[str | Path],
    *,
    queues: Collection[str] | None = None,
    catalogue: Catalogue | None = None,
) -> tuple[list[Flow], list[Problem]]:
    flows, problems = load_files(paths)
    problems += validate(flows, queues=queues, catalogue=catalogue)
    return flows, sorted(set(problems), key=lambda p: (p.file, p.line, p.column, p.reason))


def _references(
    flow: Flow,
    flows: Mapping[str, Flow],
    queues: Collection[str] | None,
    catalogue: Catalogue | None,
) -> list[Problem]:
    out: list[Problem] = []
    if flow.start and flow.start not in flow.nodes:
        out.append(_at(flow, f"start node {flow.start!r} does not exist", "start"))
    for nid, node in flow.nodes.items():
        for key, target in s.targets(node).items():
            if target not in flow.nodes:
                out.append(_at(flow, f"{key}: no node named {target!r}", "nodes", nid, key))
        if isinstance(node, s.Goto):
            other = flows.get(node.flow)
            if other is None:
                out.append(_at(flow, f"goto: no flow named {node.flow!r}", "nodes", nid, "flow"))
            elif node.node and node.node not in other.nodes:
                reason = f"goto: flow {node.flow!r} has no node {node.node!r}"
                out.append(_at(flow, reason, "nodes", nid, "node"))
        if isinstance(node, s.Queue) and routes.reserved(node.queue):
            reason = (
                f"queue {node.queue!r}: a name HOTLINE_ROUTE keeps for the IVR's ends "
                f"({', '.join(sorted(routes.RESERVED))}, in any case), not for a queue"
            )
            out.append(_at(flow, reason, "nodes", nid, "queue"))
        elif isinstance(node, s.Queue) and queues is not None and node.queue not in queues:
            known = ", ".join(sorted(queues)) or "none"
            reason = f"unknown queue {node.queue!r} (known: {known})"
            out.append(_at(flow, reason, "nodes", nid, "queue"))
        if (
            isinstance(node, s.Dial)
            and node.to != "housekeeper"
            and not INTERFACE_RE.match(node.to)
        ):
            reason = f"dial to {node.to!r}: use 'housekeeper' or an interface like PJSIP/1001"
            out.append(_at(flow, reason, "nodes", nid, "to"))
        if isinstance(node, s.Branch):
            for i, case in enumerate(node.cases):
                if case.when.open and case.when.open not in flow.schedules:
                    known = ", ".join(sorted(flow.schedules)) or "none"
                    reason = f"unknown schedule {case.when.open!r} (known: {known})"
                    out.append(_at(flow, reason, "nodes", nid, f"cases.{i}.if"))
        if isinstance(node, s.SetVars) and node.language and node.language not in flow.languages:
            reason = f"language {node.language!r} is not among this flow's languages"
            out.append(_at(flow, reason, "nodes", nid, "language"))
        if catalogue is not None:
            out += _prompts(flow, nid, node, catalogue)
    return out


def _prompts(flow: Flow, nid: str, node: Node, catalogue: Catalogue) -> list[Problem]:
    out = []
    for key, ids in s.prompts_of(node).items():
        for prompt in ids:
            for lang in flow.languages:
                if prompt not in catalogue.texts.get(lang, {}):
                    reason = f"{key}: prompt {prompt!r} has no {lang} text"
                    out.append(_at(flow, reason, "nodes", nid, key))
                elif catalogue.audio_dir is not None and catalogue.audio(lang, prompt) is None:
                    where = catalogue.audio_dir / lang / prompt
                    reason = (
                        f"{key}: prompt audio missing: {where}.wav (run 'callcenter prompts build')"
                    )
                    out.append(_at(flow, reason, "nodes", nid, key))
    return out


Graph = dict[Qid, list[tuple[str, Qid]]]


def _graphs(flows: Mapping[str, Flow]) -> tuple[Graph, Graph, Graph]:
    """(every edge, edges taken when the caller does nothing, edges of no-input nodes)."""
    graph: Graph = {}
    defaults: Graph = {}
    quiet: Graph = {}
    for flow in flows.values():
        for nid, node in flow.nodes.items():
            here = (flow.name, nid)
            if isinstance(node, s.Goto):
                other = flows.get(node.flow)
                if other is not None and (node.node or other.start) in other.nodes:
                    dest = (other.name, node.node or other.start)
                    graph[here] = defaults[here] = quiet[here] = [("flow", dest)]
                continue
            edges = [(k, (flow.name, t)) for k, t in s.targets(node).items() if t in flow.nodes]
            graph[here] = edges
            default_keys = s.default_targets(node)
            defaults[here] = [(k, q) for k, q in edges if k in default_keys]
            waits = isinstance(node, (*s.WAITS_FOR_CALLER, s.Queue, s.Dial))
            quiet[here] = [] if waits else edges
    return graph, defaults, quiet


def _reachability(flows: Mapping[str, Flow], graph: Graph) -> list[Problem]:
    out: list[Problem] = []
    reached: set[Qid] = set()
    stack = [(f.name, f.start) for f in flows.values() if f.start in f.nodes]
    while stack:
        q = stack.pop()
        if q in reached:
            continue
        reached.add(q)
        stack += [dest for _, dest in graph.get(q, [])]
    # nodes from which some terminal can be reached (walking edges backwards)
    reverse: dict[Qid, list[Qid]] = {}
    for src, edges in graph.items():
        for _, dest in edges:
            reverse.setdefault(dest, []).append(src)
    ends = [
        (f.name, nid)
        for f in flows.values()
        for nid, node in f.nodes.items()
        if isinstance(node, s.TERMINAL)
    ]
    # a node with a missing target was reported already: do not call it a dead end too
    for flow in flows.values():
        for nid, node in flow.nodes.items():
            missing = [t for t in s.targets(node).values() if t not in flow.nodes]
            if isinstance(node, s.Goto):
                other = flows.get(node.flow)
                missing += [] if other and (node.node or other.start) in other.nodes else ["goto"]
            if missing:
                ends.append((flow.name, nid))
    live: set[Qid] = set()
    while ends:
        q = ends.pop()
        if q in live:
            continue
        live.add(q)
        ends += reverse.get(q, [])
    for flow in flows.values():
        for nid in flow.nodes:
            q = (flow.name, nid)
            if q not in reached:
                out.append(_at(flow, f"node {nid!r} is unreachable from the start", "nodes", nid))
            elif q not in live:
                reason = (
                    f"dead end: no path from {nid!r} reaches a queue, dial, voicemail or hangup"
                )
                out.append(_at(flow, reason, "nodes", nid))
    return out


def _components(graph: Graph) -> list[list[Qid]]:
    """Strongly connected components that hold a cycle (Tarjan, without recursion)."""
    index: dict[Qid, int] = {}
    low: dict[Qid, int] = {}
    on_stack: set[Qid] = set()
    stack: list[Qid] = []
    components: list[list[Qid]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[Qid, int]] = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack.add(v)
            edges = graph.get(v, [])
            if i < len(edges):
                work.append((v, i + 1))
                w = edges[i][1]
                if w not in index:
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                self_loop = any(dest == v for _, dest in graph.get(v, []))
                if len(comp) > 1 or self_loop:
                    components.append(comp)
    return components


def _report(flows: Mapping[str, Flow], components: list[list[Qid]], what: str) -> list[Problem]:
    out = []
    for comp in components:
        first = min(comp, key=lambda q: (flows[q[0]].mark("nodes", q[1]).line, q))
        names = " -> ".join(
            n for _, n in sorted(comp, key=lambda q: flows[q[0]].mark("nodes", q[1]).line)
        )
        out.append(_at(flows[first[0]], f"{what} through {names}", "nodes", first[1]))
    return out
