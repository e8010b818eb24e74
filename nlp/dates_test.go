package nlp

import (
	"testing"
	"time"
)

func TestExtractDates(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{})
	// entRefNow is Saturday 28 November 2026.
	runExtractCases(t, e, entRefNow, []extractCase{
		{"yesterday", "I ordered it yesterday", []wantEnt{{EntityDate, "yesterday", "2026-11-27"}}},
		{"today", "will it arrive today?", []wantEnt{{EntityDate, "today", "2026-11-28"}}},
		{"this morning", "I ordered this morning", []wantEnt{{EntityDate, "this morning", "2026-11-28"}}},
		{"day after tomorrow", "the day after tomorrow is fine", []wantEnt{{EntityDate, "the day after tomorrow", "2026-11-30"}}},
		{"iso with slashes", "2026/11/02", []wantEnt{{EntityDate, "2026/11/02", "2026-11-02"}}},
		{"in two weeks", "in two weeks", []wantEnt{{EntityDate, "in two weeks", "2026-12-12"}}},
		{"tomorrow typo", "can u deliver tmrw", []wantEnt{{EntityDate, "tmrw", "2026-11-29"}}},
		{"day before yesterday", "it came the day before yesterday", []wantEnt{{EntityDate, "the day before yesterday", "2026-11-26"}}},
		{"last night", "ordered last night", []wantEnt{{EntityDate, "last night", "2026-11-27"}}},
		{"last friday", "paid last friday", []wantEnt{{EntityDate, "last friday", "2026-11-27"}}},
		{"last saturday is a week back", "since last Saturday", []wantEnt{{EntityDate, "last Saturday", "2026-11-21"}}},
		{"next monday", "deliver next monday pls", []wantEnt{{EntityDate, "next monday", "2026-11-30"}}},
		{"next saturday is a week ahead", "next saturday", []wantEnt{{EntityDate, "next saturday", "2026-12-05"}}},
		{"this sunday", "this sunday", []wantEnt{{EntityDate, "this sunday", "2026-11-29"}}},
		{"this monday of the current week", "this monday", []wantEnt{{EntityDate, "this monday", "2026-11-23"}}},
		{"bare weekday is the latest", "I ordered on Tuesday", []wantEnt{{EntityDate, "Tuesday", "2026-11-24"}}},
		{"abbreviation needs a modifier", "last fri, and we sat down", []wantEnt{{EntityDate, "last fri", "2026-11-27"}}},
		{"weekday and day", "delivery was due Friday 27th", []wantEnt{{EntityDate, "Friday 27th", "2026-11-27"}}},
		{"weekday and day next month", "can it come on Wednesday the 2nd?", []wantEnt{{EntityDate, "Wednesday the 2nd", "2026-12-02"}}},
		{"weekday and a count", "on friday 2 pairs arrived", []wantEnt{{EntityDate, "friday", "2026-11-27"}}},
		{"days ago", "I ordered 3 days ago", []wantEnt{{EntityDate, "3 days ago", "2026-11-25"}}},
		{"a week ago", "a week ago", []wantEnt{{EntityDate, "a week ago", "2026-11-21"}}},
		{"two weeks ago", "two weeks ago", []wantEnt{{EntityDate, "two weeks ago", "2026-11-14"}}},
		{"couple of days ago", "a couple of days ago", []wantEnt{{EntityDate, "a couple of days ago", "2026-11-26"}}},
		{"months ago", "bought it 2 months ago", []wantEnt{{EntityDate, "2 months ago", "2026-09-28"}}},
		{"in days", "back in stock in 5 days?", []wantEnt{{EntityDate, "in 5 days", "2026-12-03"}}},
		{"from now", "two weeks from now", []wantEnt{{EntityDate, "two weeks from now", "2026-12-12"}}},
		{"ordinal with the", "it was on the 5th", []wantEnt{{EntityDate, "the 5th", "2026-11-05"}}},
		{"ordinal after on", "delivered on 3rd", []wantEnt{{EntityDate, "3rd", "2026-11-03"}}},
		{"ordinal that is not a date", "the 2nd item is broken", nil},
		{"ordinal past month end", "the 31st", nil},
		{"numeric dmy", "ordered 12/03/2026", []wantEnt{{EntityDate, "12/03/2026", "2026-03-12"}}},
		{"numeric only one reading", "on 03/25/2026", []wantEnt{{EntityDate, "03/25/2026", "2026-03-25"}}},
		{"numeric dots two-digit year", "am 5.3.26 bestellt", []wantEnt{{EntityDate, "5.3.26", "2026-03-05"}}},
		{"iso", "placed 2026-11-02", []wantEnt{{EntityDate, "2026-11-02", "2026-11-02"}}},
		{"mixed separators are not a date", "12/03-2026", nil},
		{"impossible date", "31/02/2026", nil},
		{"short numeric nearest", "since 20/11", []wantEnt{{EntityDate, "20/11", "2026-11-20"}}},
		{"fraction is not a date", "1/2 price and 1/3 off", nil},
		{"month day in the past", "on March 3", []wantEnt{{EntityDate, "March 3", "2026-03-03"}}},
		{"month day soon", "arrive by Jan 5?", []wantEnt{{EntityDate, "Jan 5", "2027-01-05"}}},
		{"month day today", "today is Nov 28", []wantEnt{{EntityDate, "today", "2026-11-28"}, {EntityDate, "Nov 28", "2026-11-28"}}},
		{"short numeric past", "sent it back on 11/5", []wantEnt{{EntityDate, "11/5", "2026-05-11"}}},
		{"of last month", "I ordered on the 30th of last month", []wantEnt{{EntityDate, "the 30th of last month", "2026-10-30"}}},
		{"of next month", "the 2nd of next month", []wantEnt{{EntityDate, "the 2nd of next month", "2026-12-02"}}},
		{"month day near", "since Nov 20th", []wantEnt{{EntityDate, "Nov 20th", "2026-11-20"}}},
		{"month day year", "on September 14th, 2026", []wantEnt{{EntityDate, "September 14th, 2026", "2026-09-14"}}},
		{"day of month", "the 3rd of december", []wantEnt{{EntityDate, "the 3rd of december", "2026-12-03"}}},
		{"day month year", "ordered 1 Oct 2026", []wantEnt{{EntityDate, "1 Oct 2026", "2026-10-01"}}},
		{"may the verb", "may I return it", nil},
		{"leap day", "29 feb 2028", []wantEnt{{EntityDate, "29 feb 2028", "2028-02-29"}}},
		{"no leap day", "29 feb 2027", nil},
	}, EntityDate)

	mdy := newTestExtractor(t, ExtractorConfig{DateOrder: DateOrderMDY})
	runExtractCases(t, mdy, entRefNow, []extractCase{
		{"numeric mdy", "ordered 12/03/2026", []wantEnt{{EntityDate, "12/03/2026", "2026-12-03"}}},
	}, EntityDate)
}

func TestExtractDatesLocation(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skipf("no tz database: %v", err)
	}
	e := newTestExtractor(t, ExtractorConfig{Location: tokyo})
	// 28 November 20:00 UTC is already 29 November in Tokyo.
	now := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	runExtractCases(t, e, now, []extractCase{
		{"today in tokyo", "today", []wantEnt{{EntityDate, "today", "2026-11-29"}}},
		{"yesterday in tokyo", "yesterday", []wantEnt{{EntityDate, "yesterday", "2026-11-28"}}},
	}, EntityDate)
}

func TestExtractDatesAcrossDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tz database: %v", err)
	}
	e := newTestExtractor(t, ExtractorConfig{Location: berlin})
	// 30 March 2026 00:30 in Berlin, the day after the clocks went forward.
	now := time.Date(2026, 3, 30, 0, 30, 0, 0, berlin)
	runExtractCases(t, e, now, []extractCase{
		{"yesterday over dst", "yesterday", []wantEnt{{EntityDate, "yesterday", "2026-03-29"}}},
		{"two days ago over dst", "2 days ago", []wantEnt{{EntityDate, "2 days ago", "2026-03-28"}}},
	}, EntityDate)
}

func TestWeekdayDelta(t *testing.T) {
	// From every weekday to every weekday: "last" is 1-7 days back, "next" 1-7 ahead, none 0-6 back,
	// "this" within the Monday-Sunday week.
	for cur := time.Sunday; cur <= time.Saturday; cur++ {
		for target := time.Sunday; target <= time.Saturday; target++ {
			check := func(mod string, lo, hi int) {
				d := weekdayDelta(cur, target, mod)
				if d < lo || d > hi || time.Weekday((int(cur)+d+14)%7) != target {
					t.Errorf("weekdayDelta(%v, %v, %q) = %d, want a %v in [%d, %d]", cur, target, mod, d, target, lo, hi)
				}
			}
			check("last", -7, -1)
			check("next", 1, 7)
			check("", -6, 0)
			monday := -((int(cur) + 6) % 7)
			check("this", monday, monday+6)
		}
	}
}

func TestDateAddMonths(t *testing.T) {
	cases := []struct {
		from string
		n    int
		want string
	}{
		{"2026-03-31", -1, "2026-02-28"},
		{"2028-03-31", -1, "2028-02-29"},
		{"2026-01-15", -2, "2025-11-15"},
		{"2026-12-31", 2, "2027-02-28"},
		{"2026-05-10", -12, "2025-05-10"},
	}
	for _, c := range cases {
		from, _ := time.Parse("2006-01-02", c.from)
		if got := dateAddMonths(from, c.n).Format("2006-01-02"); got != c.want {
			t.Errorf("dateAddMonths(%s, %d) = %s, want %s", c.from, c.n, got, c.want)
		}
	}
}
