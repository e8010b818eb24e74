package nlp

import (
	"regexp"
	"strings"
	"time"
)

// Dates: relative ("yesterday", "last friday", "3 days ago", "in 2 weeks"), numeric ("12/03/2026",
// "2026-03-12") and with month names ("March 3", "3rd of March 2026", "the 5th"), all resolved to
// YYYY-MM-DD against the reference time in the extractor's Location.

const (
	dateCount  = `\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a\s+couple\s+of|couple\s+of`
	dateMonths = `january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec`
)

var (
	reDateRelative = regexp.MustCompile(`\b(?:(?:the\s+)?day\s+before\s+yesterday|(?:the\s+)?day\s+after\s+tomorrow|yesterday|yday|yesterdy|yesteday|today|tonight|tomorrow|tomorow|tommorow|tommorrow|tmrw|tmr|last\s+night|this\s+(?:morning|afternoon|evening))\b`)
	reDateAgo      = regexp.MustCompile(`\b(` + dateCount + `)\s+(days?|weeks?|months?|years?)\s+(?:ago|back|earlier)\b`)
	reDateIn       = regexp.MustCompile(`\b(?:in\s+(` + dateCount + `)\s+(days?|weeks?|months?)|(` + dateCount + `)\s+(days?|weeks?|months?)\s+from\s+now)\b`)
	reDateWeekday  = regexp.MustCompile(`\b(?:(last|this|next|coming|past|previous)\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues|tue|wed|thurs|thur|thu|fri|sat|sun)\b(?:,?\s+(?:the\s+(\d{1,2})(?:st|nd|rd|th)?|(\d{1,2})(?:st|nd|rd|th))\b)?`)
	reDateYMD      = regexp.MustCompile(`\b(\d{4})([-/.])(\d{1,2})([-/.])(\d{1,2})\b`)
	reDateNumeric  = regexp.MustCompile(`\b(\d{1,2})([./-])(\d{1,2})([./-])(\d{4}|\d{2})\b`)
	reDateShort    = regexp.MustCompile(`\b(\d{1,2})/(\d{1,2})\b`)
	reDateDayMonth = regexp.MustCompile(`\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?(?:\s+of)?\s+(` + dateMonths + `)(?:,?\s+(\d{4}))?\b`)
	reDateMonthDay = regexp.MustCompile(`\b(` + dateMonths + `)\.?\s+(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?\b`)
	reDateOrdinal  = regexp.MustCompile(`\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)(?:\s+of\s+(last|this|next|the)\s+month)?\b`)
)

var dateRelativeDays = map[string]int{
	"yesterday": -1, "yday": -1, "yesterdy": -1, "yesteday": -1, "last night": -1,
	"today": 0, "tonight": 0, "this morning": 0, "this afternoon": 0, "this evening": 0,
	"tomorrow": 1, "tomorow": 1, "tommorow": 1, "tommorrow": 1, "tmrw": 1, "tmr": 1,
	"day before yesterday": -2, "day after tomorrow": 2,
}

var dateWeekdays = map[string]time.Weekday{
	"monday": time.Monday, "mon": time.Monday,
	"tuesday": time.Tuesday, "tues": time.Tuesday, "tue": time.Tuesday,
	"wednesday": time.Wednesday, "wed": time.Wednesday,
	"thursday": time.Thursday, "thurs": time.Thursday, "thur": time.Thursday, "thu": time.Thursday,
	"friday": time.Friday, "fri": time.Friday,
	"saturday": time.Saturday, "sat": time.Saturday,
	"sunday": time.Sunday, "sun": time.Sunday,
}

var dateMonthNumbers = map[string]time.Month{
	"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
	"june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
	"october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}

// dateOrdinalNext are words that may follow "the 5th" when it is a date ("on the 5th and ...").
var dateOrdinalNext = entWordSet("and or at but so please i we it when because as then of in")

// dateOrdinalPrev are words before a bare "5th" that make it a date ("on 5th").
var dateOrdinalPrev = entWordSet("on by until till since before after from")

// findDates adds date candidates resolved against now in e.loc. Each family of patterns runs only when
// the message has a keyword it needs.
func (e *Extractor) findDates(s *entityScan, now time.Time) {
	y, mo, d := now.In(e.loc).Date()
	today := time.Date(y, mo, d, 12, 0, 0, 0, e.loc) // noon: adding days never crosses a DST edge
	if s.words&flagRelative != 0 {
		findRelativeDates(s, today)
	}
	if s.words&flagUnit != 0 && s.words&(flagAgo|flagIn) != 0 {
		findShiftedDates(s, today)
	}
	if s.words&flagWeekday != 0 {
		findWeekdays(s, today)
	}
	if len(s.regions) > 0 {
		e.findNumericDates(s, today)
		if s.words&flagMonth != 0 {
			findMonthDates(s, today)
		}
	}
}

// addDate adds a date candidate with value YYYY-MM-DD.
func (s *entityScan) addDate(start, end int, t time.Time) {
	s.add(start, end, EntityDate, t.Format("2006-01-02"))
}

// findRelativeDates: "yesterday", "tomorrow", "the day before yesterday", "last night".
func findRelativeDates(s *entityScan, today time.Time) {
	for _, m := range s.inKeywords(reDateRelative, flagRelative) {
		key := strings.Join(strings.Fields(strings.TrimPrefix(s.lower[m[0]:m[1]], "the ")), " ")
		if n, ok := dateRelativeDays[key]; ok {
			s.addDate(m[0], m[1], today.AddDate(0, 0, n))
		}
	}
}

// findShiftedDates: "3 days ago", "a week ago", "in two weeks", "5 days from now".
func findShiftedDates(s *entityScan, today time.Time) {
	if s.words&flagAgo != 0 {
		for _, m := range s.inKeywords(reDateAgo, flagAgo) {
			if t, ok := dateShift(today, s.lower[m[2]:m[3]], s.lower[m[4]:m[5]], -1); ok {
				s.addDate(m[0], m[1], t)
			}
		}
	}
	if s.words&flagIn != 0 {
		for _, m := range s.inKeywords(reDateIn, flagIn) {
			ns, ne, us, ue := m[2], m[3], m[4], m[5]
			if ns < 0 {
				ns, ne, us, ue = m[6], m[7], m[8], m[9]
			}
			if t, ok := dateShift(today, s.lower[ns:ne], s.lower[us:ue], 1); ok {
				s.addDate(m[0], m[1], t)
			}
		}
	}
}

// findWeekdays: "friday", "last friday", "next mon", "this sunday".
func findWeekdays(s *entityScan, today time.Time) {
	for _, m := range s.inKeywords(reDateWeekday, flagWeekday) {
		mod := ""
		if m[2] >= 0 {
			mod = s.lower[m[2]:m[3]]
		}
		name := s.lower[m[4]:m[5]]
		day := ""
		if m[6] >= 0 {
			day = s.lower[m[6]:m[7]]
		} else if m[8] >= 0 {
			day = s.lower[m[8]:m[9]]
		}
		if mod == "" && day == "" && !strings.HasSuffix(name, "day") {
			continue // "sat", "sun", "wed" alone are words, not days
		}
		if day != "" {
			// "Friday 27th": the 27th of the month around today that falls on a Friday.
			d, _ := entParseSmallInt(day)
			if t, ok := dateWeekdayDay(today, dateWeekdays[name], d); ok {
				s.addDate(m[0], m[1], t)
			}
			continue
		}
		s.addDate(m[0], m[1], today.AddDate(0, 0, weekdayDelta(today.Weekday(), dateWeekdays[name], mod)))
	}
}

// dateWeekdayDay returns the day d of last, this or next month that falls on weekday wd, the one
// nearest today; when none does (a mistaken weekday), day d of the current month.
func dateWeekdayDay(today time.Time, wd time.Weekday, d int) (time.Time, bool) {
	first := time.Date(today.Year(), today.Month(), 1, 12, 0, 0, 0, today.Location())
	var best time.Time
	for _, shift := range []int{0, -1, 1} {
		m := dateAddMonths(first, shift)
		t, ok := dateValid(today.Location(), m.Year(), int(m.Month()), d)
		if ok && t.Weekday() == wd && (best.IsZero() || entAbsDuration(t.Sub(today)) < entAbsDuration(best.Sub(today))) {
			best = t
		}
	}
	if !best.IsZero() {
		return best, true
	}
	return dateValid(today.Location(), today.Year(), int(today.Month()), d)
}

func entAbsDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// findMonthDates: "March 3", "3rd of March 2026", "sept. 14th, 2026".
func findMonthDates(s *entityScan, today time.Time) {
	for _, m := range s.inDigits(reDateDayMonth, s.lower, regionNeed{cluster: 1}) {
		day, _ := entParseSmallInt(s.lower[m[2]:m[3]])
		month := dateMonthNumbers[s.lower[m[4]:m[5]]]
		if t, ok := dateFromParts(today, s.lower, m, 6, month, day); ok {
			s.addDate(m[0], m[1], t)
		}
	}
	for _, m := range s.inDigits(reDateMonthDay, s.lower, regionNeed{cluster: 1}) {
		month := dateMonthNumbers[s.lower[m[2]:m[3]]]
		day, _ := entParseSmallInt(s.lower[m[4]:m[5]])
		if t, ok := dateFromParts(today, s.lower, m, 6, month, day); ok {
			s.addDate(m[0], m[1], t)
		}
	}
}

// dateFromParts builds the date for month and day, with the year from text[m[yi]:m[yi+1]] when that
// group matched, else the occurrence nearest today.
func dateFromParts(today time.Time, text string, m []int, yi int, month time.Month, day int) (time.Time, bool) {
	if month == 0 {
		return time.Time{}, false
	}
	if m[yi] >= 0 {
		y, _ := entParseSmallInt(text[m[yi]:m[yi+1]])
		return dateValid(today.Location(), y, int(month), day)
	}
	return dateNearest(today, month, day)
}

// findNumericDates: "12/03/2026", "2026-03-12", "12/03", "the 5th".
func (e *Extractor) findNumericDates(s *entityScan, today time.Time) {
	for _, m := range s.inDigits(reDateYMD, s.text, regionNeed{cluster: 6, dateSep: true}) {
		if s.text[m[4]:m[5]] != s.text[m[8]:m[9]] || dateJoined(s.text, m[0], m[1]) {
			continue
		}
		y, _ := entParseSmallInt(s.text[m[2]:m[3]])
		mo, _ := entParseSmallInt(s.text[m[6]:m[7]])
		d, _ := entParseSmallInt(s.text[m[10]:m[11]])
		if t, ok := dateValid(today.Location(), y, mo, d); ok {
			s.addDate(m[0], m[1], t)
		}
	}
	for _, m := range s.inDigits(reDateNumeric, s.text, regionNeed{cluster: 4, dateSep: true}) {
		if s.text[m[4]:m[5]] != s.text[m[8]:m[9]] || dateJoined(s.text, m[0], m[1]) {
			continue
		}
		a, _ := entParseSmallInt(s.text[m[2]:m[3]])
		b, _ := entParseSmallInt(s.text[m[6]:m[7]])
		ys := s.text[m[10]:m[11]]
		y, _ := entParseSmallInt(ys)
		if len(ys) == 2 {
			y += 2000
		}
		mo, d, ok := e.dayMonthOrder(a, b)
		if !ok {
			continue
		}
		if t, ok := dateValid(today.Location(), y, mo, d); ok {
			s.addDate(m[0], m[1], t)
		}
	}
	for _, m := range s.inDigits(reDateShort, s.text, regionNeed{cluster: 2, dateSep: true}) {
		if dateJoined(s.text, m[0], m[1]) {
			continue // part of a longer date, a path or a range
		}
		if m[3]-m[2] == 1 && m[5]-m[4] == 1 {
			continue // "1/2" is a fraction more often than a date
		}
		if ws, we := entNextWord(s.lower, m[1]); ws >= 0 && (s.lower[ws:we] == "off" || s.lower[ws:we] == "price") {
			continue
		}
		a, _ := entParseSmallInt(s.text[m[2]:m[3]])
		b, _ := entParseSmallInt(s.text[m[4]:m[5]])
		mo, d, ok := e.dayMonthOrder(a, b)
		if !ok {
			continue
		}
		if t, ok := dateNearest(today, time.Month(mo), d); ok {
			s.addDate(m[0], m[1], t)
		}
	}
	for _, m := range s.inDigits(reDateOrdinal, s.lower, regionNeed{cluster: 1, mixed: true}) {
		hasThe := strings.HasPrefix(s.lower[m[0]:m[1]], "the")
		if !hasThe && !dateOrdinalPrev[entPrevWord(s.lower, m[0])] {
			continue
		}
		shift := 0 // months from the current one: "of last month", "of next month"
		if m[4] >= 0 {
			switch s.lower[m[4]:m[5]] {
			case "last":
				shift = -1
			case "next":
				shift = 1
			}
		} else if ws, we := entNextWord(s.lower, m[1]); ws >= 0 && !dateOrdinalNext[s.lower[ws:we]] {
			continue // "the 5th time", "the 2nd item"
		}
		d, _ := entParseSmallInt(s.lower[m[2]:m[3]])
		month := dateAddMonths(time.Date(today.Year(), today.Month(), 1, 12, 0, 0, 0, today.Location()), shift)
		if t, ok := dateValid(today.Location(), month.Year(), int(month.Month()), d); ok {
			s.addDate(m[0], m[1], t)
		}
	}
}

// dateJoined reports whether text[start:end] is joined to more numbers by '/', '.' or '-'.
func dateJoined(text string, start, end int) bool {
	joiner := func(c byte) bool { return c == '/' || c == '.' || c == '-' }
	return end+1 < len(text) && joiner(text[end]) && entIsDigit(text[end+1]) ||
		start >= 2 && joiner(text[start-1]) && entIsDigit(text[start-2]) ||
		end < len(text) && text[end] == '/' || start > 0 && text[start-1] == '/'
}

// dayMonthOrder reads two numbers of a numeric date as (month, day) using the only possible reading or,
// when both are possible, the configured date order.
func (e *Extractor) dayMonthOrder(a, b int) (month, day int, ok bool) {
	switch {
	case a < 1 || b < 1 || a > 31 || b > 31 || a > 12 && b > 12:
		return 0, 0, false
	case a > 12:
		return b, a, true
	case b > 12:
		return a, b, true
	case e.mdy:
		return a, b, true
	default:
		return b, a, true
	}
}

// dateValid returns noon on y-mo-d in loc when that day exists (no 31 February) and y is plausible.
func dateValid(loc *time.Location, y, mo, d int) (time.Time, bool) {
	if y < 1900 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > dateDaysIn(y, time.Month(mo)) {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, 12, 0, 0, 0, loc), true
}

// dateDaysIn returns the number of days of month in year y.
func dateDaysIn(y int, month time.Month) int {
	return time.Date(y, month+1, 0, 12, 0, 0, 0, time.UTC).Day()
}

// dateNearest resolves a month and day without a year: the next occurrence (today or later) when it
// is at most dateAheadDays away, else the latest past one. Customers mostly speak of what already
// happened ("since 20/11", "ordered March 3") or of what is due soon ("by Jan 5"). A day that never
// exists in that month (30 February) gives false.
func dateNearest(today time.Time, month time.Month, day int) (time.Time, bool) {
	var past, next time.Time
	for _, y := range []int{today.Year() - 1, today.Year(), today.Year() + 1} {
		t, ok := dateValid(today.Location(), y, int(month), day)
		if !ok {
			continue
		}
		if t.Before(today) {
			past = t
		} else if next.IsZero() {
			next = t
		}
	}
	if !next.IsZero() && (past.IsZero() || next.Sub(today) <= dateAheadDays*24*time.Hour) {
		return next, true
	}
	return past, !past.IsZero()
}

// dateAheadDays is how far ahead a date without a year may be resolved into the future.
const dateAheadDays = 60

// dateShift moves today by count units (days, weeks, months, years) in direction dir (-1 past, +1
// future). Months and years clamp the day to the end of a shorter month (31 March - 1 month = 28 or 29
// February).
func dateShift(today time.Time, count, unit string, dir int) (time.Time, bool) {
	count = strings.Join(strings.Fields(count), " ")
	n, ok := entParseSmallInt(count)
	if !ok {
		switch count {
		case "a", "an":
			n = 1
		default:
			v := entNumberWords[count]
			if v == "" {
				return time.Time{}, false
			}
			n, _ = entParseSmallInt(v)
		}
	}
	n *= dir
	switch strings.TrimSuffix(unit, "s") {
	case "day":
		return today.AddDate(0, 0, n), true
	case "week":
		return today.AddDate(0, 0, 7*n), true
	case "month":
		return dateAddMonths(today, n), true
	case "year":
		return dateAddMonths(today, 12*n), true
	}
	return time.Time{}, false
}

// dateAddMonths adds n months, clamping the day to the target month's length.
func dateAddMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	total := int(m) - 1 + n
	ty := y + total/12
	tm := total % 12
	if tm < 0 {
		tm += 12
		ty--
	}
	month := time.Month(tm + 1)
	if dim := dateDaysIn(ty, month); d > dim {
		d = dim
	}
	return time.Date(ty, month, d, 12, 0, 0, 0, t.Location())
}

// weekdayDelta returns the day offset from cur to the weekday target: "last" (or "past", "previous")
// is the latest strictly before today; "next" (or "coming") the first strictly after today; "this" the
// one in the current Monday-to-Sunday week; no modifier the latest on or before today.
func weekdayDelta(cur, target time.Weekday, mod string) int {
	back := (int(cur) - int(target) + 7) % 7
	switch mod {
	case "last", "past", "previous":
		if back == 0 {
			return -7
		}
		return -back
	case "next", "coming":
		fwd := (int(target) - int(cur) + 7) % 7
		if fwd == 0 {
			return 7
		}
		return fwd
	case "this":
		return (int(target)+6)%7 - (int(cur)+6)%7
	default:
		return -back
	}
}
