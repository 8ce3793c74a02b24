"""The protection step's search: which more figures to hide until no hidden one can be
worked out (secondary suppression).

For every hidden figure a linear program finds the smallest and largest value a reader
could work out for it from everything published (``Protector``); while one is too narrow,
a chooser hides the figure that protects it at least cost (``choose_cheapest``), or, in a
table of rows and columns, a figure in its line (``choose_in_line``) or the corners of a
rectangle (``choose_rectangle``). See ``eqia.disclosure.engine`` for what is guaranteed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Sequence

import numpy as np

from eqia.settings.disclosure import DisclosurePolicy

#: Tolerance of the linear programs' bounds (they are whole numbers: see engine).
TOL = 1e-6

#: A chooser: (protector, hidden, figure to protect) -> [(figure to hide, why)].
Chooser = Callable[["Protector", np.ndarray, int], list[tuple[int, str]]]


class Protector:
    """Primary and secondary suppression over figures that add up parts.

    ``parts[i]`` says which parts figure ``i`` adds up; ``true[i]`` is its true value;
    ``level[i]`` how reluctant we are to hide it (totals last); ``links`` pairs figures
    that are the same number in two tables. ``chooser`` picks what to hide next to
    protect a figure (a table with both kinds of totals uses rectangles); by default the
    cheapest figure that, hidden, protects it.
    """

    def __init__(self, parts: np.ndarray, true: np.ndarray, level: np.ndarray,
                 policy: DisclosurePolicy, *, links: Sequence[tuple[int, int]] = (),
                 labels: Sequence[Hashable] | None = None, chooser: Chooser | None = None
                 ) -> None:
        self.parts, self.true, self.level, self.policy = parts, true, level, policy
        self.links = list(links)
        self.labels = list(labels) if labels is not None else list(range(len(true)))
        self.primary = np.array([policy.is_small(int(v)) for v in true], dtype=bool)
        self.shown = np.array([policy.rounded(int(v)) for v in true], dtype=np.int64)
        #: Under the NHS rule, the true values each shown figure can stand for.
        self.rounding = tuple(np.array([policy.possible(int(v))[k] for v in self.shown],
                                       dtype=float) for k in (0, 1))
        big = int(true.sum()) + 1
        # Hiding a total costs more than hiding every count (tau-argus does the same).
        self.cost = (true + big * level).astype(float)
        self.chooser = chooser or choose_cheapest
        #: Ranges already worked out, by (what is hidden, figure): hiding only grows, and
        #: the same state is asked about again (the final check, trial choices).
        self.solved: dict[tuple[bytes, int], tuple[float, float, set[int]]] = {}
        # Figures that are one published number (a shared figure in several tables).
        self.same = {i: {i} for i in range(len(true))}
        for a, b in self.links:
            group = self.same[a] | self.same[b]
            for k in group:
                self.same[k] = group

    def run(self) -> tuple[np.ndarray, dict, dict, dict]:
        """(hidden, reason per hidden figure, what each secondary one protects, ranges)."""
        p = self.policy
        hidden = self.primary.copy()
        reasons: dict[int, str] = {}
        protects: dict[int, Hashable] = {}
        for i in np.nonzero(hidden)[0]:
            reasons[i] = (f"primary: 1 to {p.nhs_small_max} (NHS rule)" if p.method == "nhs"
                          else f"primary: below {p.threshold}" if self.true[i] else
                          "primary: zero")
        if not p.publishable or not hidden.any():
            return hidden, reasons, protects, {}
        # Totals first: what protects a total often protects its parts too.
        pending = deque(sorted((i for i in np.nonzero(hidden)[0] if self.needs(i)),
                               key=lambda i: (-self.level[i], i)))
        while pending:
            t = pending[0]
            if self.safe(hidden, t):
                pending.popleft()
                continue
            chosen = self.chooser(self, hidden, t)
            if not chosen:
                raise RuntimeError("no figure left to hide")  # pragma: no cover
            for new, why in chosen:
                for k in self.same[new]:
                    if hidden[k]:
                        continue
                    hidden[k] = True
                    reasons[k] = f"secondary: protects {why}"
                    protects[k] = self.labels[t]
                    if self.needs(k):
                        pending.append(k)
        bounds = {}
        for i in np.nonzero(hidden)[0]:
            bounds[i] = self.range_of(hidden, i)
            if self.needs(i) and not self.ok(i, *bounds[i]):  # pragma: no cover - loop guards
                raise RuntimeError("secondary suppression left a hidden figure disclosed")
        return hidden, reasons, protects, bounds

    def needs(self, i: int) -> bool:
        """Whether a hidden figure must be protected (under the NHS rule only the 1 to
        7s: a hidden larger figure is only there to protect one)."""
        return self.policy.method != "nhs" or bool(self.primary[i])

    def ok(self, i: int, lo: float, hi: float) -> bool:
        p = self.policy
        wide = hi - lo >= p.min_range - TOL
        return wide and (p.method != "threshold" or hi >= p.threshold - TOL)

    def safe(self, hidden: np.ndarray, i: int) -> bool:
        return self.ok(i, *self.range_of(hidden, i))

    def known(self, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What a reader knows of each figure: the smallest and largest it can be."""
        p = self.policy
        if p.method == "nhs":
            lo, hi = self.rounding
            lo = np.where(hidden, np.where(self.primary, 1, p.nhs_small_max + 1), lo)
            hi = np.where(hidden, np.where(self.primary, p.nhs_small_max, np.inf), hi)
            return lo, hi
        lower = 0 if p.suppress_zero else 1
        return (np.where(hidden, lower, self.true).astype(float),
                np.where(hidden, np.inf, self.true).astype(float))

    def component(self, hidden: np.ndarray, t: int) -> np.ndarray:
        """The parts a reader can link to figure ``t`` through what is published (when
        the number of people is shown, one characteristic's table)."""
        lo, hi = self.known(hidden)
        exact = lo == hi
        says = exact | np.isfinite(hi) | (lo > 0)  # a hidden figure >= 0 says nothing
        touches = np.vstack([self.parts[says]] + [
            self.parts[[x]] | self.parts[[y]]
            for x, y in self.links if not (exact[x] and exact[y])])
        near = self.parts[t].copy()
        while True:
            grown = touches[touches[:, near].any(axis=1)].any(axis=0) | near
            if (grown == near).all():
                return near
            near = grown

    def range_of(self, hidden: np.ndarray, t: int) -> tuple[float, float]:
        """Smallest and largest value of figure ``t``, given all that is published."""
        lo, hi, _ = self.solve(hidden, t)
        return lo, hi

    def solve(self, hidden: np.ndarray, t: int) -> tuple[float, float, set[int]]:
        """(smallest, largest) value of figure ``t`` given all that is published, and
        the published figures that bind them (those with a non-zero dual value: hiding
        one of them is what can widen the range).

        Only the parts connected to ``t`` through what a reader knows are in the linear
        program (a characteristic's table, when the number of people is shown).
        """
        key = (hidden.tobytes(), t)
        if key not in self.solved:
            self.solved[key] = self._solve(hidden, t)
        return self.solved[key]

    def _solve(self, hidden: np.ndarray, t: int) -> tuple[float, float, set[int]]:
        from scipy.optimize import linprog  # here, not at the top: it takes 1 s to load

        lo, hi = self.known(hidden)
        exact = lo == hi
        says = exact | np.isfinite(hi) | (lo > 0)  # a hidden figure >= 0 says nothing
        near = self.component(hidden, t)
        a = self.parts[:, near].astype(float)
        keep = says & self.parts[:, near].any(axis=1)
        eq = np.nonzero(keep & exact)[0]
        ub = np.nonzero(keep & ~exact & np.isfinite(hi))[0]
        lb = np.nonzero(keep & ~exact & (lo > 0))[0]
        links = [(x, y) for x, y in self.links
                 if not (exact[x] and exact[y]) and self.parts[[x, y]][:, near].any()]
        a_eq = np.vstack([a[eq]] + [a[[x]] - a[[y]] for x, y in links])
        b_eq = np.concatenate([lo[eq], np.zeros(len(links))])
        a_ub = np.vstack([a[ub], -a[lb]])
        b_ub = np.concatenate([hi[ub], -lo[lb]])
        out, binding = [], set()
        for sign in (1.0, -1.0):
            res = linprog(sign * a[t], A_eq=a_eq if len(a_eq) else None,
                          b_eq=b_eq if len(a_eq) else None,
                          A_ub=a_ub if len(a_ub) else None,
                          b_ub=b_ub if len(a_ub) else None,
                          bounds=(0, None), method="highs")
            if res.status == 3:
                out.append(np.inf)
                continue
            if res.status != 0:
                raise RuntimeError(f"suppression check failed: {res.message}")
            out.append(round(sign * res.fun, 6))
            duals = np.concatenate([
                np.abs(res.eqlin.marginals[:len(eq)]) if len(a_eq) else [],
                np.abs(res.ineqlin.marginals) if len(a_ub) else []])
            rows = np.concatenate([eq, ub, lb]).astype(int)
            binding |= {int(k) for k, d in zip(rows, duals, strict=True) if d > TOL}
        return out[0], out[1], binding - {t}

    def can_hide(self, hidden: np.ndarray) -> np.ndarray:
        """Figures that may be hidden to protect another: shown, and not a zero (a
        hidden zero, where zeros are shown, would tell readers hidden figures can be 0;
        under the NHS rule a zero is exact and the markers mean 1 or more)."""
        ok = ~hidden & (self.true > 0) if not (self.policy.method == "threshold"
                                               and self.policy.suppress_zero) else ~hidden
        return ok

    def related(self, hidden: np.ndarray, t: int) -> np.ndarray:
        """Figures a reader can link to ``t``: hiding any other cannot protect it."""
        return (self.parts & self.component(hidden, t)).any(axis=1)


def choose_cheapest(pr: Protector, hidden: np.ndarray, t: int) -> list[tuple[int, str]]:
    """The cheapest figure, or pair, among those that bind ``t``'s range (or, when none
    can be hidden, those a reader can link to it) that, hidden, protects ``t``; failing
    that, the cheapest of them (and the loop asks again, with what binds it then)."""
    can = pr.can_hide(hidden)
    _, _, binding = pr.solve(hidden, t)

    def cheapest(ks) -> list[int]:
        return sorted((int(k) for k in ks if can[k]), key=lambda k: (pr.cost[k], k))

    related = cheapest(np.nonzero(pr.related(hidden, t))[0])
    pool = cheapest(binding) or related
    few = list(dict.fromkeys(pool[:_PAIRS_AMONG] + related[:_PAIRS_AMONG]))
    options = [(pr.cost[k], (k,)) for k in pool]
    options += [(pr.cost[a] + pr.cost[b], (a, b)) for n, a in enumerate(few) for b in few[n + 1:]]
    for _, ks in sorted(options, key=lambda o: (o[0], o[1])):
        trial = hidden.copy()
        trial[[j for k in ks for j in pr.same[k]]] = True
        if pr.safe(trial, t):
            return [(int(k), "totals") for k in ks]
    pool = pool or sorted(np.nonzero(can)[0], key=lambda k: (pr.cost[k], k))
    return [(int(pool[0]), "totals")] if pool else []


#: Pairs of figures to hide are looked for among this many of the cheapest that bind,
#: and this many of the cheapest a reader can link.
_PAIRS_AMONG = 4


def choose_in_line(pr: Protector, hidden: np.ndarray, t: int, *, shape: tuple[int, int],
                    by_row: bool) -> list[tuple[int, str]]:
    """One kind of totals: the cheapest other cell in the same line."""
    i, j = divmod(t, shape[1])
    cost = np.where(pr.can_hide(hidden), pr.cost, np.inf).reshape(shape)
    line = cost[i, :].copy() if by_row else cost[:, j].copy()
    line[j if by_row else i] = np.inf
    if np.isfinite(line).any():
        k = int(np.argmin(line))
        cell = i * shape[1] + k if by_row else k * shape[1] + j
        return [(cell, "row total" if by_row else "column total")]
    return choose_cheapest(pr, hidden, t)


def choose_rectangle(pr: Protector, hidden: np.ndarray, t: int, *, shape: tuple[int, int],
                      n_rows: int, n_cols: int) -> list[tuple[int, str]]:
    """Both kinds of totals: the cheapest rectangle through ``t`` (the hypercube method)
    whose other three corners are hidden or can be; a reader can then add to two
    corners and take from the other two without changing a total. Cost: total cells
    last, then the smallest value."""
    a, b = divmod(t, shape[1])
    mask = hidden.reshape(shape)
    cost = np.where(hidden, 0.0, np.where(pr.can_hide(hidden), pr.cost, np.inf)).reshape(shape)
    grid = cost[:, [b]] + cost[[a], :] + cost
    grid[a, :] = np.inf
    grid[:, b] = np.inf
    grid[grid == 0] = np.inf  # adds nothing new
    if not np.isfinite(grid).any():
        return choose_cheapest(pr, hidden, t)
    m, k = np.unravel_index(int(np.argmin(grid)), grid.shape)
    corners = [((a, k), "row total"), ((m, b), "column total"), ((m, k), "row and column totals")]
    return [(int(r * shape[1] + c), why) for (r, c), why in corners if not mask[r, c]]
