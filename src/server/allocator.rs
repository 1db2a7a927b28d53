//! The server's allocator (the binary's global allocator; the bench measures with it too):
//! mimalloc, unless `PAYFRIEND_ALLOCATOR=system` chooses the C library's malloc. A request
//! allocates and frees many small objects on whichever worker thread runs it, where
//! glibc's malloc spent a fifth of the hot paths' time (`make bench` measures both, README:
//! Benchmarks).
//!
//! mimalloc runs with two of its options changed, unless the environment sets them
//! (`MIMALLOC_ALLOW_THP`, `MIMALLOC_PURGE_DELAY`): no transparent huge pages (each arena it
//! touched became 2 MiB resident: 58 MB after the bench's load instead of 46, and slower
//! cold starts, each first touch zeroing a huge page), and memory freed is returned at
//! once instead of a second later (39 MB, as with glibc's malloc), which the bench measured no
//! slower.
//!
//! The choice is made once, at the process's first allocation, from the environment as the
//! process started (read without allocating), and never changes: every block is freed by
//! the allocator that made it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::{c_int, c_long};
use std::sync::atomic::{AtomicU8, Ordering};

use mimalloc::MiMalloc;

/// See the module comment.
pub struct Allocator;

const UNDECIDED: u8 = 0;
const MIMALLOC: u8 = 1;
const SYSTEM: u8 = 2;

static CHOICE: AtomicU8 = AtomicU8::new(UNDECIDED);

/// Whether the C library's malloc was chosen.
#[inline]
fn system() -> bool {
    match CHOICE.load(Ordering::Relaxed) {
        MIMALLOC => false,
        SYSTEM => true,
        _ => decide(),
    }
}

/// The first allocation's choice (the process's first allocation runs on its main thread,
/// before any other thread exists; the exchange keeps the first answer all the same).
#[cold]
fn decide() -> bool {
    // SAFETY: getenv reads the environment block without allocating; the name is a
    // NUL-terminated literal, and the value is read before anything could change it.
    let wanted = unsafe {
        let value = libc::getenv(c"PAYFRIEND_ALLOCATOR".as_ptr());
        if !value.is_null() && std::ffi::CStr::from_ptr(value).to_bytes() == b"system" {
            SYSTEM
        } else {
            MIMALLOC
        }
    };
    match CHOICE.compare_exchange(UNDECIDED, wanted, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) if wanted == MIMALLOC => {
            tune_mimalloc();
            false
        }
        Ok(_) => true,
        Err(first) => first == SYSTEM,
    }
}

/// mimalloc's option numbers (`mi_option_e` in mimalloc.h, version 3, as libmimalloc-sys
/// 0.1.49 builds it; a test checks both against their documented defaults).
const MI_OPTION_PURGE_DELAY: c_int = 15;
const MI_OPTION_ALLOW_THP: c_int = 43;

unsafe extern "C" {
    #[cfg(test)]
    fn mi_option_get(option: c_int) -> c_long;
    fn mi_option_set(option: c_int, value: c_long);
}

/// The module comment's two options, each unless the environment sets it. Neither call
/// allocates; mimalloc reads both where it maps and frees memory.
fn tune_mimalloc() {
    for (name, option, value) in [
        (c"MIMALLOC_ALLOW_THP", MI_OPTION_ALLOW_THP, 0),
        (c"MIMALLOC_PURGE_DELAY", MI_OPTION_PURGE_DELAY, 0),
    ] {
        // SAFETY: as in `decide`; the options are mimalloc's own, set before a second
        // thread exists.
        unsafe {
            if libc::getenv(name.as_ptr()).is_null() {
                mi_option_set(option, value);
            }
        }
    }
}

// SAFETY: every call goes to one allocator, fixed before the first block was made.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if system() {
            unsafe { System.alloc(layout) }
        } else {
            unsafe { MiMalloc.alloc(layout) }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if system() {
            unsafe { System.alloc_zeroed(layout) }
        } else {
            unsafe { MiMalloc.alloc_zeroed(layout) }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if system() {
            unsafe { System.dealloc(ptr, layout) }
        } else {
            unsafe { MiMalloc.dealloc(ptr, layout) }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if system() {
            unsafe { System.realloc(ptr, layout, new_size) }
        } else {
            unsafe { MiMalloc.realloc(ptr, layout, new_size) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option numbers name the options meant: each reads its default (options.c) in a
    /// process that did not choose this allocator (the tests' own is the system's); the
    /// tuning then sets both to 0. The only test that touches mimalloc's options.
    #[test]
    fn tuning_turns_off_mimallocs_huge_pages_and_purge_delay() {
        // SAFETY: reading an option is always allowed.
        let read = || unsafe {
            (
                mi_option_get(MI_OPTION_PURGE_DELAY),
                mi_option_get(MI_OPTION_ALLOW_THP),
            )
        };
        assert_eq!(read(), (1000, 1), "mimalloc's defaults");
        tune_mimalloc();
        assert_eq!(read(), (0, 0), "after the tuning");
    }
}
