//! The dependency graph: cycle detection with the cycle as a path, topological order and
//! critical-path weights. Everything is iterative, so no input can overflow the stack.

/// A cycle, as step indices `a, b, c` meaning `a` depends on `b`, `b` on `c`, `c` on `a`.
pub(crate) type Cycle = Vec<usize>;

/// A topological order (dependencies first), or every cycle found.
pub(crate) fn topo_order(deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<Cycle>> {
    let n = deps.len();
    let mut pending: Vec<usize> = deps.iter().map(Vec::len).collect();
    let dependents = dependents(deps);
    let mut order = Vec::with_capacity(n);
    let mut ready: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    ready.reverse();
    while let Some(i) = ready.pop() {
        order.push(i);
        for &d in &dependents[i] {
            pending[d] -= 1;
            if pending[d] == 0 {
                ready.push(d);
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    Err(find_cycles(deps, &pending))
}

/// Finds cycles among the steps Kahn's algorithm could not order. Each such step has a
/// dependency that is also unordered, so following those always comes back round.
fn find_cycles(deps: &[Vec<usize>], pending: &[usize]) -> Vec<Cycle> {
    const UNSEEN: usize = usize::MAX;
    let n = deps.len();
    let stuck = |i: usize| pending[i] > 0;
    // walk[i]: UNSEEN, or the id of the walk that visited it.
    let mut walk = vec![UNSEEN; n];
    let mut pos_in_path = vec![usize::MAX; n];
    let mut cycles = Vec::new();
    for start in 0..n {
        if !stuck(start) || walk[start] != UNSEEN {
            continue;
        }
        let mut path = Vec::new();
        let mut cur = start;
        loop {
            if walk[cur] == start {
                // Back on this walk's own path: a new cycle.
                let from = pos_in_path[cur];
                cycles.push(path[from..].to_vec());
                break;
            }
            if walk[cur] != UNSEEN {
                break; // reached an earlier walk, whose cycle is already reported
            }
            walk[cur] = start;
            pos_in_path[cur] = path.len();
            path.push(cur);
            match deps[cur].iter().copied().find(|&d| stuck(d)) {
                Some(next) => cur = next,
                None => break,
            }
        }
    }
    cycles
}

/// The reverse edges: for each step, the steps that depend on it.
pub(crate) fn dependents(deps: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); deps.len()];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            out[d].push(i);
        }
    }
    out
}

/// For each step, the cost of the longest chain of work from it to the end of the run,
/// itself included. `order` must be topological.
pub(crate) fn critical_weights(
    order: &[usize],
    dependents: &[Vec<usize>],
    cost: &[u64],
) -> Vec<u64> {
    let mut weight = vec![0u64; cost.len()];
    for &i in order.iter().rev() {
        let behind = dependents[i].iter().map(|&d| weight[d]).max().unwrap_or(0);
        weight[i] = cost[i].saturating_add(behind);
    }
    weight
}

/// Every step that `roots` need, transitively, roots included, as a membership mask.
pub(crate) fn ancestors(deps: &[Vec<usize>], roots: &[usize]) -> Vec<bool> {
    let mut keep = vec![false; deps.len()];
    let mut stack: Vec<usize> = roots.to_vec();
    while let Some(i) = stack.pop() {
        if !keep[i] {
            keep[i] = true;
            stack.extend(deps[i].iter().copied().filter(|&d| !keep[d]));
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_and_weighs() {
        // 0 <- 1 <- 2, 0 <- 3
        let deps = vec![vec![], vec![0], vec![1], vec![0]];
        let order = topo_order(&deps).unwrap();
        assert_eq!(order[0], 0);
        let w = critical_weights(&order, &dependents(&deps), &[1, 1, 1, 1]);
        assert_eq!(w, vec![3, 2, 1, 1]);
    }

    #[test]
    fn finds_cycles_as_paths() {
        // 0 -> 1 -> 2 -> 0, and 3 -> 0 (not in the cycle), 4 -> 4
        let deps = vec![vec![1], vec![2], vec![0], vec![0], vec![4]];
        let cycles = topo_order(&deps).unwrap_err();
        assert_eq!(cycles, vec![vec![0, 1, 2], vec![4]]);
    }

    #[test]
    fn long_chain_and_cycle_do_not_recurse() {
        let n = 200_000;
        let mut deps: Vec<Vec<usize>> = (0..n)
            .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
            .collect();
        assert_eq!(topo_order(&deps).unwrap().len(), n);
        deps[0] = vec![n - 1];
        let cycles = topo_order(&deps).unwrap_err();
        assert_eq!(cycles[0].len(), n);
    }

    #[test]
    fn selects_ancestors() {
        let deps = vec![vec![], vec![0], vec![1], vec![]];
        assert_eq!(ancestors(&deps, &[1]), vec![true, true, false, false]);
    }
}
