//! Keeps the sound libraries' own error printing off the terminal: alsa-lib and libjack write
//! to stderr on their own (`ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM ...`,
//! `Cannot connect to server socket ...`) whenever a device is probed and fails, which on a
//! machine without a sound card is every time. viva says what went wrong in its own one line;
//! the libraries' messages are counted here instead, and the first one kept for `viva doctor`.

/// Replaces the libraries' error printers with ones that only count. Idempotent; every
/// function in `devices` calls it before it touches cpal.
pub fn sound_libraries() {
    #[cfg(target_os = "linux")]
    linux::install();
}

/// How many messages the sound libraries have tried to print, and the first of them.
pub fn complaints() -> (usize, Option<String>) {
    #[cfg(target_os = "linux")]
    return linux::complaints();
    #[cfg(not(target_os = "linux"))]
    (0, None)
}

#[cfg(target_os = "linux")]
mod linux {
    use std::ffi::{c_char, c_int, CStr};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Mutex, Once};

    static INSTALL: Once = Once::new();
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    static FIRST: Mutex<Option<String>> = Mutex::new(None);

    pub fn install() {
        INSTALL.call_once(|| {
            // SAFETY: see `alsa_complaint` for the handler's signature; the function pointer
            // lives for the whole program.
            unsafe {
                let handler: unsafe extern "C" fn(
                    *const c_char,
                    c_int,
                    *const c_char,
                    c_int,
                    *const c_char,
                ) = alsa_complaint;
                alsa_sys::snd_lib_error_set_handler(Some(std::mem::transmute::<
                    unsafe extern "C" fn(*const c_char, c_int, *const c_char, c_int, *const c_char),
                    unsafe extern "C" fn(
                        *const c_char,
                        c_int,
                        *const c_char,
                        c_int,
                        *const c_char,
                        ...
                    ),
                >(handler)));
                quiet_jack();
            }
        });
    }

    pub fn complaints() -> (usize, Option<String>) {
        let first = FIRST.lock().ok().and_then(|f| f.clone());
        (COUNT.load(Ordering::Relaxed), first)
    }

    fn note(message: impl FnOnce() -> String) {
        if COUNT.fetch_add(1, Ordering::Relaxed) == 0 {
            if let Ok(mut first) = FIRST.try_lock() {
                *first = Some(message());
            }
        }
    }

    fn text(ptr: *const c_char) -> String {
        if ptr.is_null() {
            return String::new();
        }
        // SAFETY: the libraries pass NUL-terminated strings that live for the call.
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned()
    }

    /// alsa-lib's error handler. Its C type is variadic (the format's arguments follow), which
    /// stable Rust cannot define; this one takes only the fixed arguments, which on the Linux
    /// C ABIs (x86-64 System V, AArch64) arrive in the same registers either way, and never
    /// reads the rest. The format is kept with its conversions unfilled.
    unsafe extern "C" fn alsa_complaint(
        _file: *const c_char,
        _line: c_int,
        function: *const c_char,
        err: c_int,
        fmt: *const c_char,
    ) {
        note(|| {
            let mut message = format!("alsa-lib {}: {}", text(function), unfilled(&text(fmt)));
            if err != 0 {
                // SAFETY: snd_strerror returns a static string for any value.
                message.push_str(&format!(
                    " ({})",
                    text(unsafe { alsa_sys::snd_strerror(err) })
                ));
            }
            message
        });
    }

    /// A printf format with its conversions shown as `…`: the arguments are not read.
    fn unfilled(format: &str) -> String {
        let mut out = String::new();
        let mut chars = format.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            if chars.peek() == Some(&'%') {
                chars.next();
                out.push('%');
                continue;
            }
            // Flags, width, precision and length, up to the conversion letter.
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() && !"hlLqjzt".contains(next) {
                    break;
                }
            }
            out.push('…');
        }
        out
    }

    unsafe extern "C" fn jack_complaint(message: *const c_char) {
        note(|| format!("libjack: {}", text(message)));
    }

    /// ALSA's JACK plugin loads libjack, whose default error and info printers write to
    /// stderr. Loading the same library first (global, never unloaded) and setting its printers
    /// means the plugin finds it already loaded and quiet. No libjack installed: nothing to do.
    unsafe fn quiet_jack() {
        let lib = libc::dlopen(c"libjack.so.0".as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
        if lib.is_null() {
            return;
        }
        for setter in [c"jack_set_error_function", c"jack_set_info_function"] {
            let symbol = libc::dlsym(lib, setter.as_ptr());
            if symbol.is_null() {
                continue;
            }
            // SAFETY: both setters are `void (*)(void (*func)(const char *))` in jack.h.
            let set = std::mem::transmute::<
                *mut libc::c_void,
                unsafe extern "C" fn(Option<unsafe extern "C" fn(*const c_char)>),
            >(symbol);
            set(Some(jack_complaint));
        }
    }
}
