//! The server's allocator (the binary's global allocator; the bench measures with it too):
//! mimalloc, unless `PAYFRIEND_ALLOCATOR=system` chooses the C library's malloc. A request
//! allocates and frees many small objects on whichever worker thread runs it, where
//! glibc's malloc spent a fifth of the hot paths' time; mimalloc keeps more memory resident
//! for it (`make bench` measures both, README: Benchmarks).
//!
//! The choice is made once, at the process's first allocation, from the environment as the
//! process started (read without allocating), and never changes: every block is freed by
//! the allocator that made it.

use std::alloc::{GlobalAlloc, Layout, System};
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
        Ok(_) => wanted == SYSTEM,
        Err(first) => first == SYSTEM,
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
