//! The terminal under `kspin top` and `kspin run --tui`: [`Screen`] (raw mode and the alternate
//! screen on the controlling terminal, restored when dropped, so stdout stays free for `--json`)
//! and, in-process, [`InProcessTop`]: the dashboard on its own thread while stderr (status lines,
//! warnings, log events) is captured into its console pane instead of scribbling over it.
//!
//! Owns the terminal modes, the stderr redirection and the dashboard thread. Invariants: every
//! mode it changes is restored on drop (also after an error), stderr included; it never runs on
//! the engine core and never blocks it (it reads published snapshots only).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::os::fd::{FromRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use kspin_telemetry::SharedSnapshot;

use super::view::ViewState;
use super::{dashboard, Exit, Source};

/// Console lines kept for the dashboard's pane.
const CONSOLE_LINES: usize = 200;

/// The controlling terminal in raw mode on its alternate screen; restored when dropped.
pub struct Screen {
    terminal: Terminal<CrosstermBackend<File>>,
}

impl Screen {
    /// Opens `/dev/tty` (so stdout and stderr may be redirected), enters raw mode and the
    /// alternate screen.
    pub fn open() -> io::Result<Screen> {
        let mut tty = File::options().read(true).write(true).open("/dev/tty")?;
        enable_raw_mode()?;
        if let Err(e) = execute!(tty, EnterAlternateScreen) {
            let _ = disable_raw_mode();
            return Err(e);
        }
        let terminal = match Terminal::new(CrosstermBackend::new(tty)) {
            Ok(t) => t,
            Err(e) => {
                let _ = disable_raw_mode();
                return Err(e);
            }
        };
        Ok(Screen { terminal })
    }

    pub fn terminal(&mut self) -> &mut Terminal<CrosstermBackend<File>> {
        &mut self.terminal
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = execute!(self.terminal.backend_mut(), LeaveAlternateScreen);
        let _ = disable_raw_mode();
        let _ = self.terminal.show_cursor();
    }
}

/// Stderr redirected into a pipe whose lines a thread collects; restored when dropped.
struct StderrCapture {
    saved: RawFd,
    reader: Option<JoinHandle<()>>,
}

impl StderrCapture {
    fn start(lines: Arc<Mutex<VecDeque<String>>>) -> io::Result<StderrCapture> {
        let mut fds: [libc::c_int; 2] = [0; 2];
        // SAFETY: `pipe` writes two descriptors into the array it is given, which has room for
        // exactly two.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        debug_assert!(fds[0] >= 0 && fds[1] >= 0);
        // SAFETY: duplicating descriptor 2 (stderr), which the process owns; the copy is ours.
        let saved = unsafe { libc::dup(2) };
        if saved < 0 {
            let e = io::Error::last_os_error();
            // SAFETY: closing the two descriptors `pipe` just gave us.
            unsafe {
                libc::close(fds[0]);
                libc::close(fds[1]);
            }
            return Err(e);
        }
        // SAFETY: `fds[1]` is the pipe's write end (open) and 2 a valid descriptor number;
        // afterwards fd 2 refers to the pipe and `fds[1]` is closed, leaving fd 2 its only
        // writer, so restoring fd 2 ends the reader with end-of-file.
        unsafe {
            libc::dup2(fds[1], 2);
            libc::close(fds[1]);
        }
        // SAFETY: `fds[0]` is the pipe's read end, open and owned by nothing else: the File
        // takes ownership and closes it.
        let read_end = unsafe { File::from_raw_fd(fds[0]) };
        let reader = std::thread::Builder::new()
            .name("kspin-tui-stderr".into())
            .spawn(move || {
                for line in BufReader::new(read_end).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(mut l) = lines.lock() {
                        if l.len() == CONSOLE_LINES {
                            l.pop_front();
                        }
                        l.push_back(line);
                    }
                }
            })?;
        Ok(StderrCapture {
            saved,
            reader: Some(reader),
        })
    }
}

impl Drop for StderrCapture {
    fn drop(&mut self) {
        // SAFETY: `saved` is the duplicate of the original stderr made in `start`, still open;
        // putting it back on fd 2 closes the pipe's last write end.
        unsafe {
            libc::dup2(self.saved, 2);
            libc::close(self.saved);
        }
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

/// `kspin run --tui`: the dashboard on its own thread; see the module docs.
pub struct InProcessTop {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl InProcessTop {
    /// Takes over the terminal and stderr and draws `shared` every `interval`. `quit` is called
    /// when the user quits (`q`, Esc, Ctrl-C): it should stop the run.
    pub fn start(
        shared: SharedSnapshot,
        interval: Duration,
        quit: fn(),
    ) -> io::Result<InProcessTop> {
        let mut screen = Screen::open()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("kspin-tui".into())
            .spawn(move || {
                let console = Arc::new(Mutex::new(VecDeque::new()));
                let capture = StderrCapture::start(Arc::clone(&console)).ok();
                let source = Source::Shared(shared);
                let mut state = ViewState {
                    source: source.name(),
                    ..ViewState::default()
                };
                let mut refresh = |state: &mut ViewState| {
                    if let Ok(c) = console.lock() {
                        state.console = c.clone();
                    }
                };
                let stop_now = || flag.load(Ordering::Relaxed);
                let exit = dashboard(
                    screen.terminal(),
                    &source,
                    &mut state,
                    interval,
                    &stop_now,
                    &mut refresh,
                );
                if matches!(exit, Ok(Exit::Quit)) {
                    quit();
                }
                drop(capture);
                drop(screen);
            })?;
        Ok(InProcessTop {
            stop,
            thread: Some(thread),
        })
    }

    /// Restores the terminal and stderr (what was captured stays in the log file).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for InProcessTop {
    fn drop(&mut self) {
        self.stop();
    }
}
