//! The order in which ready steps start: the step with the longest chain of work still behind
//! it first, declaration order breaking ties. The scheduler ranks steps with it, and
//! `--dry-run` and `graph` show the order it gives.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::Plan;

/// Where a step stands among ready steps: the higher, the sooner it starts.
pub(crate) type Rank = (u64, Reverse<usize>);

/// The rank of step `i`.
pub(crate) fn rank(plan: &Plan, i: usize) -> Rank {
    (plan.steps[i].weight, Reverse(i))
}

/// The order in which steps start when all succeed and one runs at a time.
pub(crate) fn start_order(plan: &Plan) -> Vec<usize> {
    let mut pending: Vec<usize> = plan.steps.iter().map(|s| s.deps.len()).collect();
    let mut ready: BinaryHeap<Rank> = (0..plan.steps.len())
        .filter(|&i| pending[i] == 0)
        .map(|i| rank(plan, i))
        .collect();
    let mut order = Vec::with_capacity(plan.steps.len());
    while let Some((_, Reverse(i))) = ready.pop() {
        order.push(i);
        for &d in &plan.steps[i].dependents {
            pending[d] -= 1;
            if pending[d] == 0 {
                ready.push(rank(plan, d));
            }
        }
    }
    order
}
