//! The global allocator: a bump arena in the unused part of the instance's
//! initial memory, then Rust's own allocator (dlmalloc) for what does not
//! fit.
//!
//! Why: on `wasm32-unknown-unknown` dlmalloc takes memory only through
//! `memory.grow`, so without this every instance grows its memory on its
//! first allocation, although the initial memory (a 64 KiB stack, the data,
//! then tens of KiB nobody uses) has room. A host that reuses instances
//! (Micron resets a finished instance to its initial memory image and
//! globals) cannot reuse one whose memory grew, since memory never shrinks:
//! it discards it and instantiates a new one for the next request. Measured
//! on rust-hello in Micron: every instance discarded, about 8× the
//! per-request cost of as-hello; with the arena, instances are reused.
//!
//! The arena frees only its most recent block (which covers a `Vec` or
//! `String` that grows while it is built) and grows that block in place;
//! the rest is given back when the instance ends, which for a Micron
//! function is the end of the request. Blocks that do not fit come from
//! dlmalloc as before. A function crate cannot install its own
//! `#[global_allocator]` beside this one.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr;

/// Bump allocation in `[__heap_base, initial end of memory)`, dlmalloc after.
struct Arena;

#[global_allocator]
static ALLOCATOR: Arena = Arena;

extern "C" {
    /// Where the linker put the end of the data and stack (wasm-ld defines it).
    static __heap_base: u8;
}

// Single-threaded (wasm32 without threads): plain statics. Both start at 0
// in the module's data, so a fresh or reset instance starts a fresh arena.
/// The next free byte of the arena; 0 until the first allocation.
static mut NEXT: usize = 0;
/// The end of the initial memory: the arena's limit, fixed at the first allocation.
static mut END: usize = 0;

#[inline]
unsafe fn arena_start() {
    if END == 0 {
        NEXT = ptr::addr_of!(__heap_base) as usize;
        END = core::arch::wasm32::memory_size(0) * 65536;
    }
}

#[inline]
unsafe fn in_arena(p: usize) -> bool {
    p < END
}

unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        arena_start();
        let start = (NEXT + layout.align() - 1) & !(layout.align() - 1);
        match start.checked_add(layout.size()) {
            Some(end) if end <= END => {
                NEXT = end;
                start as *mut u8
            }
            _ => System.alloc(layout),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let p = ptr as usize;
        if in_arena(p) {
            if p + layout.size() == NEXT {
                NEXT = p;
            }
        } else {
            System.dealloc(ptr, layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = ptr as usize;
        if !in_arena(p) {
            return System.realloc(ptr, layout, new_size);
        }
        if p + layout.size() == NEXT {
            // The most recent block: resize it where it is when it fits.
            if let Some(end) = p.checked_add(new_size) {
                if end <= END {
                    NEXT = end;
                    return ptr;
                }
            }
        } else if new_size <= layout.size() {
            return ptr;
        }
        let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
        if !new.is_null() {
            ptr::copy_nonoverlapping(ptr, new, if new_size < layout.size() { new_size } else { layout.size() });
            self.dealloc(ptr, layout);
        }
        new
    }
}
