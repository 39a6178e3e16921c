//! `--report html=PATH`: a run's timeline as one self-contained page (no script, no network):
//! each step a bar on the lane that ran it, the critical path outlined, the time it waited for
//! a free slot before it and for cargo's lock within it told apart from work, cached and
//! skipped steps marked, and the table of every step. The data is in the page too, as JSON.

use std::fmt::Write;
use std::time::Duration;

use super::timeline::{Bar, Timeline};
use crate::load::duration::format_elapsed;

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d1d1f; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
.meta { color: #555; margin: 0 0 12px; }
.status { font-size: 13px; padding: 1px 8px; border-radius: 9px; color: #fff; vertical-align: middle; }
.chart { position: relative; margin: 8px 0 20px 64px; }
.lane { position: relative; height: 26px; border-bottom: 1px solid #eee; }
.lane-name { position: absolute; left: -64px; width: 56px; text-align: right; color: #888; font-size: 12px; line-height: 26px; }
.axis { position: relative; height: 18px; color: #888; font-size: 11px; border-bottom: 1px solid #ccc; }
.tick { position: absolute; top: 0; transform: translateX(-50%); white-space: nowrap; }
.bar { position: absolute; top: 3px; height: 20px; min-width: 3px; border-radius: 3px; overflow: hidden; box-sizing: border-box; }
.bar .label { position: relative; padding: 0 4px; font-size: 12px; line-height: 20px; color: #fff; white-space: nowrap; z-index: 1; }
.critical { outline: 2px solid #1d1d1f; outline-offset: 1px; }
.slot { position: absolute; top: 23px; height: 3px; background: repeating-linear-gradient(90deg, #999 0 4px, transparent 4px 7px); }
.lock { position: absolute; top: 0; bottom: 0; background: repeating-linear-gradient(-45deg, rgba(0,0,0,.45) 0 3px, rgba(255,255,255,.35) 3px 6px); }
.success { background: #2e8b57; } .cached { background: #2a9fb8; } .failed { background: #d0342c; }
.timed_out { background: #e07b00; } .interrupted { background: #777; } .skipped { background: #c9a227; }
table { border-collapse: collapse; margin-top: 8px; }
th, td { padding: 3px 10px; text-align: left; border-bottom: 1px solid #eee; font-size: 13px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; color: #555; }
.legend i { display: inline-block; width: 18px; height: 10px; margin-right: 4px; vertical-align: middle; border-radius: 2px; }
"#;

/// The page.
pub(crate) fn render(t: &Timeline) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let title = format!("cargo flow: {}", t.workflow);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let _ = writeln!(
        out,
        "<h1>{} <span class=\"status {}\">{}</span></h1>",
        escape(&t.workflow),
        t.status,
        t.status
    );
    out.push_str(&meta(t));
    out.push_str(LEGEND);
    out.push_str(&chart(t));
    out.push_str(&table(t));
    // `</script` would end the element early, and `<!--` change how it is read: `<` only
    // appears in JSON strings, where `\u003c` stands for it.
    let data = serde_json::to_string(t)
        .unwrap_or_default()
        .replace('<', "\\u003c");
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"flow-timeline\">{data}</script>\n</body>\n</html>\n"
    );
    out
}

const LEGEND: &str = "<p class=\"legend\"><span><i class=\"success\"></i>work</span><span><i class=\"cached\"></i>cached</span><span><i class=\"failed\"></i>failed</span><span><i class=\"slot\" style=\"position:static;display:inline-block;height:3px\"></i>ready, waiting to start (every slot taken, or its target dir busy)</span><span><i style=\"background:repeating-linear-gradient(-45deg, rgba(0,0,0,.45) 0 3px, #2e8b57 3px 6px)\"></i>waiting for cargo's lock</span><span><i class=\"critical\" style=\"background:#eee\"></i>critical path</span></p>\n";

/// `wall 57.7s · 7 steps · at most 2 at a time · critical path: a → b`.
fn meta(t: &Timeline) -> String {
    let path = match t.critical_path.as_slice() {
        [] => String::new(),
        ids => format!(
            " · critical path: {}",
            ids.iter()
                .map(|i| escape(i))
                .collect::<Vec<_>>()
                .join(" → ")
        ),
    };
    format!(
        "<p class=\"meta\">wall {} · {} steps · at most {} at a time{path}</p>\n",
        format_elapsed(ms(t.wall_ms)),
        t.steps.len(),
        t.parallel
    )
}

/// The lanes, each step that started a bar on its own.
fn chart(t: &Timeline) -> String {
    let wall = t.wall_ms.max(1) as f64;
    let pct = |ms: u64| ms as f64 * 100.0 / wall;
    let lanes = t
        .steps
        .iter()
        .filter_map(|s| s.lane)
        .max()
        .map_or(0, |l| l + 1);
    let mut out = String::from("<div class=\"chart\">\n<div class=\"axis\">");
    for n in 0..=8u64 {
        let at = t.wall_ms * n / 8;
        let _ = write!(
            out,
            "<span class=\"tick\" style=\"left:{:.3}%\">{}</span>",
            pct(at),
            format_elapsed(ms(at))
        );
    }
    out.push_str("</div>\n");
    for lane in 0..lanes {
        let _ = write!(
            out,
            "<div class=\"lane\"><span class=\"lane-name\">lane {}</span>",
            lane + 1
        );
        for bar in t.steps.iter().filter(|s| s.lane == Some(lane)) {
            out.push_str(&bar_html(bar, &pct));
        }
        out.push_str("</div>\n");
    }
    out.push_str("</div>\n");
    out
}

/// One step's bar, the wait to start before it and its waits for cargo's lock within it.
fn bar_html(bar: &Bar, pct: &dyn Fn(u64) -> f64) -> String {
    let (Some(start), Some(end)) = (bar.start_ms, bar.end_ms) else {
        return String::new();
    };
    let mut out = String::new();
    if bar.waited_for_slot_ms > 0 {
        let _ = write!(
            out,
            "<div class=\"slot\" style=\"left:{:.3}%;width:{:.3}%\" title=\"{} waited {} to start\"></div>",
            pct(bar.ready_ms),
            pct(bar.waited_for_slot_ms),
            escape(&bar.id),
            format_elapsed(ms(bar.waited_for_slot_ms))
        );
    }
    let took = end.saturating_sub(start);
    let critical = if bar.on_critical_path {
        " critical"
    } else {
        ""
    };
    let _ = write!(
        out,
        "<div class=\"bar {}{critical}\" style=\"left:{:.3}%;width:{:.3}%\" title=\"{}\">",
        bar.status,
        pct(start),
        pct(took),
        escape(&tooltip(bar, took))
    );
    for [from, to] in &bar.cargo_lock_waits {
        let inside = |at: u64| at.saturating_sub(start) as f64 * 100.0 / took.max(1) as f64;
        let _ = write!(
            out,
            "<div class=\"lock\" style=\"left:{:.3}%;width:{:.3}%\"></div>",
            inside(*from),
            inside(*to) - inside(*from)
        );
    }
    let _ = write!(
        out,
        "<span class=\"label\">{} {}</span></div>",
        escape(&bar.id),
        format_elapsed(ms(took))
    );
    out
}

/// What hovering over a bar says.
fn tooltip(bar: &Bar, took: u64) -> String {
    let mut text = format!("{}: {} in {}", bar.id, bar.status, format_elapsed(ms(took)));
    let locked: u64 = bar.cargo_lock_waits.iter().map(|[f, t]| t - f).sum();
    if locked > 0 {
        let _ = write!(
            text,
            ", {} waiting for cargo's lock",
            format_elapsed(ms(locked))
        );
    }
    if let Some(note) = &bar.note {
        let _ = write!(text, " ({note})");
    }
    text
}

/// The table: every step, when it was ready, started and ended, and its waits.
fn table(t: &Timeline) -> String {
    let mut out = String::from(
        "<table>\n<tr><th>step</th><th>status</th><th>lane</th><th>ready</th><th>started</th><th>time</th><th>waited to start</th><th>waited for cargo's lock</th><th>note</th></tr>\n",
    );
    let time = |v: Option<u64>| v.map_or("-".to_string(), |m| format_elapsed(ms(m)));
    for bar in &t.steps {
        let took = bar
            .start_ms
            .zip(bar.end_ms)
            .map(|(s, e)| e.saturating_sub(s));
        let locked: u64 = bar.cargo_lock_waits.iter().map(|[f, t]| t - f).sum();
        let name = match bar.on_critical_path {
            true => format!("<b>{}</b>", escape(&bar.id)),
            false => escape(&bar.id),
        };
        let _ = writeln!(
            out,
            "<tr><td>{name}</td><td><span class=\"status {}\">{}</span></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            bar.status,
            bar.status,
            bar.lane.map_or("-".to_string(), |l| (l + 1).to_string()),
            time(bar.start_ms.map(|_| bar.ready_ms)),
            time(bar.start_ms),
            time(took),
            time(bar.start_ms.map(|_| bar.waited_for_slot_ms)),
            time(bar.start_ms.map(|_| locked)),
            escape(bar.note.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>\n");
    out
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Text safe inside an element or a quoted attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::timeline::Timeline;

    #[test]
    fn text_and_data_cannot_break_out_of_the_page() {
        assert_eq!(
            escape(r#"<b a="1">&'"#),
            "&lt;b a=&quot;1&quot;&gt;&amp;&#39;"
        );
        let t = Timeline {
            workflow: "</script><script>alert(1)</script>".into(),
            status: "success",
            wall_ms: 0,
            parallel: 1,
            critical_path: Vec::new(),
            steps: Vec::new(),
        };
        let page = render(&t);
        assert_eq!(page.matches("<script").count(), 1, "{page}");
        assert_eq!(page.matches("</script>").count(), 1, "{page}");
    }
}
