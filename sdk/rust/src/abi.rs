//! Memory glue of the canonical ABI: the allocator the host calls to place
//! lists and strings in guest memory, a scratch area for results returned
//! through a pointer, and functions that take ownership of what the host
//! wrote there.

use std::alloc::{self, Layout};
use std::ptr;

/// The allocator behind the exported `cabi_realloc` (see
/// [`export_handler!`](crate::export_handler)). Blocks come from Rust's global
/// allocator with the exact size and alignment the host asks for, so a
/// `list<u8>` or `string` the host returns can become a `Vec<u8>`/`String`
/// without copying.
///
/// # Safety
/// Called by the host only, following the canonical ABI's realloc contract.
pub unsafe fn cabi_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    if new_len == 0 {
        // A dangling, aligned pointer: nothing is allocated for empty lists.
        return align as *mut u8;
    }
    let new = if old_len == 0 {
        alloc::alloc(Layout::from_size_align_unchecked(new_len, align))
    } else {
        alloc::realloc(
            old_ptr,
            Layout::from_size_align_unchecked(old_len, align),
            new_len,
        )
    };
    if new.is_null() {
        // Out of memory: trap rather than pull in the formatting machinery.
        std::process::abort();
    }
    new
}

/// An 8-aligned buffer for results the host writes through a `ret` pointer;
/// 64 bytes fit the largest one used here (56).
#[repr(C, align(8))]
pub struct RetArea([u8; 64]);

impl RetArea {
    pub fn new() -> RetArea {
        RetArea([0; 64])
    }

    pub fn ptr(&mut self) -> *mut u8 {
        self.0.as_mut_ptr()
    }

    // Offsets are constants from the layouts in `crate::wasi`, all below 60:
    // unchecked reads avoid panic paths (and the formatting code they pull in).

    pub fn u8(&self, offset: usize) -> u8 {
        debug_assert!(offset < 64);
        unsafe { *self.0.as_ptr().add(offset) }
    }

    pub fn u32(&self, offset: usize) -> u32 {
        debug_assert!(offset <= 60);
        unsafe { ptr::read_unaligned(self.0.as_ptr().add(offset) as *const u32) }
    }

    /// A `string` written at `offset` as (ptr, len), now owned by the guest.
    pub unsafe fn take_string(&self, offset: usize) -> String {
        take_string(self.u32(offset), self.u32(offset + 4))
    }

    /// An `option<string>` written at `offset`.
    pub unsafe fn take_option_string(&self, offset: usize) -> Option<String> {
        if self.u8(offset) == 0 {
            None
        } else {
            Some(self.take_string(offset + 4))
        }
    }
}

/// Takes ownership of a `list<u8>` the host allocated with `cabi_realloc`.
pub unsafe fn take_bytes(ptr: u32, len: u32) -> Vec<u8> {
    Vec::from_raw_parts(ptr as usize as *mut u8, len as usize, len as usize)
}

/// Takes ownership of a `string` (the host guarantees UTF-8).
pub unsafe fn take_string(ptr: u32, len: u32) -> String {
    String::from_utf8_unchecked(take_bytes(ptr, len))
}

/// Frees the array of a `list<T>` whose elements were already taken.
pub unsafe fn free_list(ptr: u32, len: u32, elem_size: usize, align: usize) {
    if len != 0 {
        alloc::dealloc(
            ptr as usize as *mut u8,
            Layout::from_size_align_unchecked(len as usize * elem_size, align),
        );
    }
}

/// Takes a `list<tuple<string, list<u8>>>` (also `list<tuple<string, string>>`,
/// which has the same layout) written at `ret` offset 0.
pub unsafe fn take_pairs(ret: &RetArea) -> Vec<(String, Vec<u8>)> {
    let (base, len) = (ret.u32(0), ret.u32(4));
    let mut out = Vec::with_capacity(len as usize);
    let mut elem = base as usize as *const u32;
    for _ in 0..len {
        let name = take_string(ptr::read(elem), ptr::read(elem.add(1)));
        let value = take_bytes(ptr::read(elem.add(2)), ptr::read(elem.add(3)));
        out.push((name, value));
        elem = elem.add(4);
    }
    free_list(base, len, 16, 4);
    out
}
