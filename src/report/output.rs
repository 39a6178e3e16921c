//! Showing a step's output from its log file: whole, or its tail, never holding more than the
//! tail in memory.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

/// How many lines of a failed step's output are shown in grouped mode.
pub(crate) const TAIL_LINES: usize = 40;

/// Writes the whole log to `out`, each line prefixed, in bounded chunks whatever the length
/// of its lines; bytes that are not UTF-8 are shown as replacement characters.
pub(crate) fn copy_all(log: &Path, prefix: &str, out: &mut dyn Write) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(64 * 1024, File::open(log)?);
    let mut at_line_start = true;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let len = buf
            .iter()
            .position(|&b| b == b'\n')
            .map_or(buf.len(), |i| i + 1);
        let chunk = &buf[..len];
        if at_line_start {
            out.write_all(prefix.as_bytes())?;
        }
        out.write_all(String::from_utf8_lossy(chunk).as_bytes())?;
        at_line_start = chunk.ends_with(b"\n");
        reader.consume(len);
    }
    if !at_line_start {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Reads past the end of the current line without keeping it.
fn skip_line(reader: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
}

/// The last `n` lines of the log and how many lines were left out before them.
pub(crate) fn tail(log: &Path, n: usize) -> io::Result<(usize, Vec<String>)> {
    let file = File::open(log)?;
    let mut reader = BufReader::new(file);
    let mut lines: VecDeque<String> = VecDeque::with_capacity(n + 1);
    let mut skipped = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        // Very long lines are cut so the tail stays small whatever the output.
        let read = reader
            .by_ref()
            .take(16 * 1024)
            .read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if read == 16 * 1024 {
            skip_line(&mut reader)?;
            line.extend_from_slice("…".as_bytes());
        }
        lines.push_back(String::from_utf8_lossy(&line).into_owned());
        if lines.len() > n {
            lines.pop_front();
            skipped += 1;
        }
    }
    Ok((skipped, lines.into()))
}

/// What a failed step shows of its output: the last [`TAIL_LINES`] lines of its log (in a
/// `::group::` fold on GitHub Actions) and where the whole log is.
pub(crate) fn failure_block(id: &str, log: &Path, github: bool) -> String {
    use console::style;
    let Ok((skipped, lines)) = tail(log, TAIL_LINES) else {
        return String::new();
    };
    let mut body = String::new();
    if skipped > 0 {
        let more = style(format!("… {skipped} earlier lines in the log")).dim();
        body.push_str(&format!("  {more}\n"));
    }
    for l in &lines {
        body.push_str(&format!("  {l}\n"));
    }
    let mut block = String::new();
    if github {
        block.push_str(&format!("::group::{id} output\n{body}::endgroup::\n"));
    } else if !body.is_empty() {
        block.push_str(&format!("{}\n{body}", style(format!("── {id} ──")).dim()));
    }
    let path = crate::source::display_path(log);
    block.push_str(&format!("  {} {path}\n", style("full log:").dim()));
    block
}
