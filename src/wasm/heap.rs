//! The wasm heap: the standard allocator (dlmalloc), grown in steps proportional to the heap.
//!
//! dlmalloc asks for more linear memory only when its free space runs out, and then only about
//! what the failing request needs, rounded up to 64 KiB. Every `memory.grow` is expensive in a
//! JS engine (V8 replaces the memory's `ArrayBuffer` and counts the growth as external memory,
//! which starts garbage collections): a 10,000-image import into the memory backend grew the
//! memory about 2,000 times, and spent about 0.6 s in the grows and as much in the collections
//! they set off. After each grow this allocator also takes and gives back a block a quarter the
//! size of the memory, so the next grow comes much later: dozens of grows instead of thousands,
//! for at most a quarter more memory. A block given back joins dlmalloc's free space (wasm
//! memory is never returned), so it serves the allocations that follow.

use core::arch::wasm32::memory_size;
use std::alloc::{GlobalAlloc, Layout, System};

const PAGE: usize = 64 << 10;
/// The smallest and largest step the heap grows by (besides what a request itself needs).
const STEP_MIN: usize = 1 << 20;
const STEP_MAX: usize = 32 << 20;

struct GeometricHeap;

#[global_allocator]
static HEAP: GeometricHeap = GeometricHeap;

/// Called after an allocation that grew the memory: grows it once more, by a step.
unsafe fn grow_ahead() {
    let size = memory_size::<0>() * PAGE;
    let step = (size / 4).clamp(STEP_MIN, STEP_MAX);
    let layout = Layout::from_size_align_unchecked(step, 16);
    let block = System.alloc(layout);
    if !block.is_null() {
        System.dealloc(block, layout);
    }
}

/// Runs `alloc` and grows ahead if it grew the memory.
#[inline(always)]
unsafe fn watching(alloc: impl FnOnce() -> *mut u8) -> *mut u8 {
    let before = memory_size::<0>();
    let p = alloc();
    if memory_size::<0>() != before {
        grow_ahead();
    }
    p
}

unsafe impl GlobalAlloc for GeometricHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        watching(|| System.alloc(layout))
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        watching(|| System.alloc_zeroed(layout))
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        watching(|| System.realloc(ptr, layout, new_size))
    }
}
