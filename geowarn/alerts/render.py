"""Alert message bodies: plain text, HTML (with the evidence map inline) and SMS.

Text and HTML are built from the same lines, so both always carry the same figures: every crack
measurement with its 1-sigma uncertainty, the survey dates, the time-of-failure window, the model
version, the dashboard link and how to acknowledge. The SMS form keeps to ASCII (one GSM-7 segment
holds 160 characters, a Unicode one only 70) and to ``max_len`` characters, keeping the link.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from geowarn.alerts.evidence_map import render_evidence_map
from geowarn.alerts.payload import AlertPayload, CrackEvidence
from geowarn.tracking.change import EXTENDING, GROWTH, NEW, OPENING, SHRINKING, STABLE

__all__ = ["LEVEL_COLOURS", "ack_command", "render_evidence_map", "render_html", "render_sms", "render_text"]

#: Badge colours of the levels in HTML messages.
LEVEL_COLOURS: dict[str, str] = {
    "green": "#2e7d32",
    "yellow": "#f9a825",
    "orange": "#ef6c00",
    "red": "#c62828",
    "nodata": "#616161",
}


def ack_command(payload: AlertPayload) -> str:
    """The command that acknowledges this alert."""
    return f"geowarn alerts ack {payload.alert_id}"


def _pm(value: float, unc: float | None, digits: int, unit: str, *, signed: bool = False, pm: str = "±") -> str:
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    if unc is not None:
        text += f" {pm} {unc:.{digits}f}"
    return f"{text} {unit}"


@dataclass
class _CrackBlock:
    title: str
    status: str
    lines: list[str] = field(default_factory=list)


#: How each change class reads in a message (``geowarn.tracking.change``).
CHANGE_WORDING: dict[str, str] = {
    EXTENDING: "extending",
    OPENING: "opening",
    NEW: "new (no earlier measurement)",
    SHRINKING: "shrinking or partly lost (segmentation, not growth)",
    STABLE: "stable (no significant change)",
}


def _crack_block(crack: CrackEvidence, crs: str) -> _CrackBlock:
    status = CHANGE_WORDING[crack.change_class]
    block = _CrackBlock(f"crack {crack.track_id} at {crack.centroid_x:.2f}, {crack.centroid_y:.2f} ({crs})", status)
    block.lines.append(
        f"length {_pm(crack.length_m, crack.length_unc_m, 3, 'm')}, "
        f"mean width {_pm(crack.mean_width_m, crack.width_unc_m, 3, 'm')}, "
        f"max width {_pm(crack.max_width_m, crack.width_unc_m, 3, 'm')}"
    )
    deltas = []
    if crack.delta_length_m is not None:
        deltas.append(f"Δlength {_pm(crack.delta_length_m, crack.delta_length_unc_m, 3, 'm', signed=True)}")
    if crack.delta_max_width_m is not None:
        deltas.append(f"Δmax width {_pm(crack.delta_max_width_m, crack.delta_width_unc_m, 3, 'm', signed=True)}")
    if crack.extension_rate_mm_day is not None:
        deltas.append(f"extension {_pm(crack.extension_rate_mm_day, crack.extension_rate_unc_mm_day, 1, 'mm/day')}")
    if crack.opening_rate_mm_day is not None:
        deltas.append(f"opening {_pm(crack.opening_rate_mm_day, crack.opening_rate_unc_mm_day, 1, 'mm/day')}")
    if deltas:
        block.lines.append(", ".join(deltas))
    return block


def _survey_line(payload: AlertPayload) -> str:
    line = f"Survey {payload.survey_id} of {payload.survey_date.isoformat()}"
    if payload.previous_survey_date is None:
        return line + " (first survey of the site, nothing to compare with)"
    days = (payload.survey_date - payload.previous_survey_date).days
    return line + f" compared with the survey of {payload.previous_survey_date.isoformat()} ({days} days earlier)"


def _failure_line(payload: AlertPayload) -> str | None:
    if payload.time_of_failure is None:
        return None
    line = f"Forecast time of failure: {payload.time_of_failure.isoformat()}"
    if payload.time_of_failure_low is not None and payload.time_of_failure_high is not None:
        line += f" (window {payload.time_of_failure_low.isoformat()} to {payload.time_of_failure_high.isoformat()})"
    return line


def _reminder_tag(payload: AlertPayload) -> str:
    return f"REMINDER {payload.reminder} " if payload.reminder else ""


def _headline(payload: AlertPayload) -> str:
    change = payload.level_change()
    head = f"geowarn {_reminder_tag(payload)}{payload.level.upper()}"
    return head + (f" ({change})" if change else "") + f" – {payload.site_name}"


def _issued_line(payload: AlertPayload) -> str:
    line = f"Alert {payload.alert_id} for site {payload.site_id}, issued {payload.issued_at:%Y-%m-%d %H:%M} UTC"
    line += ". Acknowledgement required." if payload.requires_ack else "."
    if payload.reminder:
        line += f" Not acknowledged yet: reminder {payload.reminder}."
    return line


def _crack_heading(payload: AlertPayload) -> str:
    heading = f"Cracks ({len(payload.cracks)}"
    if payload.new_crack_count:
        heading += f"; {payload.new_crack_count} new in this survey"
    return heading + "):"


def render_text(payload: AlertPayload) -> str:
    """Plain-text body (email text part, file channel, long SMS) with every figure and its uncertainty."""
    out = [_headline(payload), "", _issued_line(payload), payload.summary().capitalize() + ".", ""]
    if payload.reasons:
        out.append("Why:")
        out.extend(f"  - {reason}" for reason in payload.reasons)
        out.append("")
    out.append(_survey_line(payload) + ".")
    if failure := _failure_line(payload):
        out.append(failure + ".")
    out.append("")
    if payload.cracks:
        out.append(_crack_heading(payload))
        for crack in payload.cracks:
            block = _crack_block(crack, payload.crs)
            out.append(f"  {block.title}: {block.status}")
            out.extend(f"    {line}" for line in block.lines)
        out.append("")
    if payload.dashboard_url:
        out.append(f"Dashboard: {payload.dashboard_url}")
    if payload.requires_ack:
        out.append(f"Acknowledge with: {ack_command(payload)}")
    out.append(f"Model: {payload.model_version}")
    out.append("Uncertainties are 1 sigma; coordinates are crack centroids.")
    return "\n".join(out) + "\n"


def render_html(payload: AlertPayload, map_cid: str | None = None) -> str:
    """HTML body with the same content as :func:`render_text`; ``map_cid`` shows the inline evidence map."""
    e = html.escape
    colour = LEVEL_COLOURS[payload.level]
    parts = [
        '<!DOCTYPE html><html><head><meta charset="utf-8">',
        f"<title>{e(payload.subject())}</title></head>",
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222">',
        f'<h2>{e(_reminder_tag(payload))}<span style="background:{colour};color:#fff;padding:2px 8px;'
        f'border-radius:3px">{e(payload.level.upper())}</span> {e(payload.site_name)}</h2>',
    ]
    if change := payload.level_change():
        parts.append(f"<p><b>{e(change)}</b></p>")
    parts.append(f"<p>{e(_issued_line(payload))}<br>{e(payload.summary().capitalize())}.</p>")
    if payload.reasons:
        parts.append("<h3>Why</h3><ul>" + "".join(f"<li>{e(r)}</li>" for r in payload.reasons) + "</ul>")
    parts.append(f"<p>{e(_survey_line(payload))}.")
    if failure := _failure_line(payload):
        parts.append(f"<br><b>{e(failure)}.</b>")
    parts.append("</p>")
    if map_cid:
        parts.append(
            f'<p><img src="cid:{e(map_cid, quote=True)}" alt="evidence map: previous and current crack outlines" '
            'style="max-width:100%;border:1px solid #ccc"></p>'
        )
    if payload.cracks:
        parts.append(f"<h3>{e(_crack_heading(payload).rstrip(':'))}</h3><ul>")
        for crack in payload.cracks:
            block = _crack_block(crack, payload.crs)
            style = "color:#c62828;font-weight:bold" if crack.change_class in GROWTH else "color:#555"
            parts.append(f'<li>{e(block.title)}: <span style="{style}">{e(block.status)}</span><br>')
            parts.append("<br>".join(e(line) for line in block.lines) + "</li>")
        parts.append("</ul>")
    if payload.dashboard_url:
        url = e(payload.dashboard_url, quote=True)
        parts.append(f'<p>Dashboard: <a href="{url}">{e(payload.dashboard_url)}</a></p>')
    if payload.requires_ack:
        parts.append(f"<p>Acknowledge with: <code>{e(ack_command(payload))}</code></p>")
    parts.append(
        f'<p style="color:#666;font-size:12px">Model: {e(payload.model_version)}<br>'
        "Uncertainties are 1 sigma; coordinates are crack centroids.</p></body></html>"
    )
    return "\n".join(parts) + "\n"


def _key_figure(payload: AlertPayload) -> str:
    crack = payload.key_crack()
    if crack is not None and crack.extension_rate_mm_day is not None:
        unc = crack.extension_rate_unc_mm_day
        return f"crack {crack.track_id} extends {_pm(crack.extension_rate_mm_day, unc, 1, 'mm/day', pm='+/-')}"
    if crack is not None and crack.opening_rate_mm_day is not None:
        unc = crack.opening_rate_unc_mm_day
        return f"crack {crack.track_id} opens {_pm(crack.opening_rate_mm_day, unc, 1, 'mm/day', pm='+/-')}"
    if payload.reasons:
        return payload.reasons[0]
    return payload.summary()


def render_sms(payload: AlertPayload, max_len: int = 320) -> str:
    """Short message: level, site, the key figure and the link, at most ``max_len`` characters.

    Less important parts (summary, acknowledgement hint, failure window) are left out first when the
    message would be too long; the dashboard link is kept whenever it fits at all.
    """
    change = payload.level_change()
    head = f"geowarn {_reminder_tag(payload)}{payload.level.upper()}"
    head += (f" ({change})" if change else "") + f" {payload.site_name}: "
    head += _key_figure(payload)
    optional = [payload.summary()]
    if payload.requires_ack:
        optional.append(f"ack: {ack_command(payload)}")
    if payload.time_of_failure is not None:
        optional.append(f"failure ~{payload.time_of_failure.isoformat()}")
    link = f" {payload.dashboard_url}" if payload.dashboard_url else ""
    if len(link) > max_len // 2:
        link = ""
    budget = max_len - len(link)
    text = head if len(head) <= budget else head[: max(budget - 3, 0)].rstrip() + "..."
    for part in optional:
        if part == head or part in head:
            continue
        if len(text) + 2 + len(part) <= budget:
            text += f"; {part}"
    return (text + link)[:max_len]
