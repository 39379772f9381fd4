"""The one way a page shows a time: in the service's configured timezone (``timezone`` in
the settings, handed to the page by name), written YYYY-MM-DD HH:MM[:SS] in both languages,
whatever the browser's own zone. A page puts ``ZONED_TIME_JS`` in its script and calls
``zonedTime(epochSeconds, zone, withSeconds)``; ``zonedEpoch('YYYY-MM-DD', zone)`` is the
start of that day in the zone (for date filters sent as epoch seconds), and
``zonedEpoch('YYYY-MM-DDTHH:MM', zone)`` that minute (a datetime-local input's value)."""

from __future__ import annotations

ZONED_TIME_JS = """
const ZONED_PARTS = new Map();  // zone -> its Intl formatter (made once: they are slow to make)
function zonedParts(epochSeconds, zone) {
  let f = ZONED_PARTS.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {timeZone: zone, hourCycle: 'h23', year: 'numeric',
      month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit'});
    ZONED_PARTS.set(zone, f);
  }
  const p = {};
  for (const part of f.formatToParts(new Date(epochSeconds * 1000))) p[part.type] = part.value;
  return p;
}
function zonedTime(epochSeconds, zone, withSeconds) {
  if (epochSeconds === null || epochSeconds === undefined || epochSeconds === '') return '-';
  const p = zonedParts(Number(epochSeconds), zone);
  return p.year + '-' + p.month + '-' + p.day + ' ' + p.hour + ':' + p.minute +
    (withSeconds ? ':' + p.second : '');
}
function zonedEpoch(text, zone) {
  const [day, time] = text.split('T');
  const [y, m, d] = day.split('-').map(Number);
  const [hh, mm] = (time || '00:00').split(':').map(Number);
  const guess = Date.UTC(y, m - 1, d, hh, mm) / 1000;  // as if UTC; the zone's offset then moves it
  let at = guess;
  for (let i = 0; i < 2; i++) {  // twice: the offset may differ on either side of midnight
    const p = zonedParts(at, zone);
    const shown = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) / 1000;
    at = guess - (shown - at);
  }
  return at;
}
"""
