//! Workers with a free slot, bucketed by how many chats they hold, for O(1) least-loaded lookup.

/// On-duty workers with at least one free slot, grouped by load.
#[derive(Debug, Default, Clone)]
pub struct FreePool {
    buckets: Vec<Vec<u32>>,
    /// Per worker: (bucket, index in bucket), or `None` when not in the pool.
    position: Vec<Option<(u32, u32)>>,
}

impl FreePool {
    /// An empty pool for `workers` workers with `cap` slots each.
    pub fn new(workers: usize, cap: usize) -> Self {
        Self { buckets: vec![Vec::with_capacity(workers); cap], position: vec![None; workers] }
    }

    /// Empties the pool, keeping its memory.
    pub fn clear(&mut self) {
        self.buckets.iter_mut().for_each(Vec::clear);
        self.position.iter_mut().for_each(|p| *p = None);
    }

    /// Removes `worker` if present.
    pub fn remove(&mut self, worker: u32) {
        if let Some((b, i)) = self.position[worker as usize].take() {
            let bucket = &mut self.buckets[b as usize];
            bucket.swap_remove(i as usize);
            if let Some(&moved) = bucket.get(i as usize) {
                self.position[moved as usize] = Some((b, i));
            }
        }
    }

    /// Places `worker` in the bucket for `load` held chats (removing it when `load` is full).
    pub fn set(&mut self, worker: u32, load: usize) {
        self.remove(worker);
        if let Some(bucket) = self.buckets.get_mut(load) {
            self.position[worker as usize] = Some((load as u32, bucket.len() as u32));
            bucket.push(worker);
        }
    }

    /// Whether `worker` has a free slot and is on duty.
    pub fn contains(&self, worker: u32) -> bool {
        self.position[worker as usize].is_some()
    }

    /// Workers from least to most loaded.
    pub fn least_loaded(&self) -> impl Iterator<Item = u32> + '_ {
        self.buckets.iter().flat_map(|b| b.iter().copied())
    }

    /// Number of workers in the pool.
    pub fn len(&self) -> usize {
        self.buckets.iter().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_load_and_tracks_moves() {
        let mut pool = FreePool::new(4, 3);
        pool.set(0, 2);
        pool.set(1, 0);
        pool.set(2, 1);
        pool.set(3, 0);
        assert_eq!(pool.least_loaded().collect::<Vec<_>>(), vec![1, 3, 2, 0]);
        pool.set(1, 3); // full: leaves the pool
        assert!(!pool.contains(1));
        pool.remove(3);
        assert_eq!(pool.least_loaded().collect::<Vec<_>>(), vec![2, 0]);
        pool.set(3, 2);
        assert_eq!(pool.least_loaded().collect::<Vec<_>>(), vec![2, 0, 3]);
        assert_eq!(pool.len(), 3);
    }
}
