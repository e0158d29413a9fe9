"""Normalise how plans write time, so the grammar sees one spelling.

Plans arrive in Simplified and Traditional script, with full-width digits and
punctuation, Chinese numerals (二〇一一年, 十二月, 十五日) and every kind of
quoting mark (“七一”, "七一", 「七一」). `normalize` maps all of that to one
form: Simplified characters, ASCII digits and punctuation, no quotes, no
spaces, 号 as 日, 元月 as 1月, 星期/礼拜 as 周, and one range dash ``-``.
Besides: 每月的/每年的 lose 的 (每月的第二个星期五); 首个 is 第1个; a holiday's 假期 is its
期间; a year masked with one x (x年5月上旬) is the plan's year as 20xx年 is; a range's first day gets the 日 it
leaves out (8月28-9月6日, 6月18~19日); two quarters run together (第二三季度) become
a range of quarters; two holidays written side by side (元旦春节期间) are listed
(元旦、春节期间); 周一9:30 keeps the weekday apart from the clock; a designated day's
name after its date goes (4·23世界读书日 is 4月23日); 等(重大)节日 after
named days says only what they are (七一、国庆等重大节庆日期间 is 七一、国庆期间).

Chinese numerals become digits only where they count something (before
年 月 日 季度 个月 周 …, or after 第 / 每): 七一, 五四, 三八 and 十一 stay as
they are because they are the names of days, and 十八大 stays an event name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib import resources

__all__ = ["chinese_number", "normalize", "normalize_spans", "to_simplified"]


@cache
def _t2s_table() -> dict[int, str]:
    """Build a per-character Traditional→Simplified table from OpenCC's data.

    Per character is enough for time words and unit names, and str.translate
    with a table is ~50x faster than OpenCC's phrase converter.
    """
    text = resources.files("opencc").joinpath("dictionary/TSCharacters.txt").read_text("utf-8")
    table: dict[int, str] = {}
    for line in text.splitlines():
        source, _, targets = line.partition("\t")
        if len(source) == 1 and targets:
            table[ord(source)] = targets.split(" ")[0]
    return table


def to_simplified(text: str) -> str:
    """Convert Traditional characters to Simplified, one character at a time."""
    return text.translate(_t2s_table())


# Full-width ASCII (！ to ～) sits exactly 0xFEE0 above the ASCII range.
_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_PUNCT = str.maketrans(
    {
        **{chr(k): chr(v) for k, v in _WIDTH.items()},
        "\u3000": "",
        " ": "",
        "\t": "",
        "\n": "",
        "\r": "",
        "“": "",
        "”": "",
        "‘": "",
        "’": "",
        '"': "",
        "'": "",
        "「": "",
        "」": "",
        "『": "",
        "』": "",
        "〝": "",
        "〞": "",
        "《": "",
        "》": "",
        "—": "-",
        "–": "-",
        "―": "-",
        "─": "-",
        "~": "-",
        "〜": "-",
        "、": "、",
        "，": "、",
        ",": "、",
        "；": "、",
        ";": "、",
        "（": "(",
        "）": ")",
        "〔": "(",
        "〕": ")",
        "〇": "〇",
        "○": "〇",
        "Ｏ": "〇",
        "。": "",
    }
)

_DIGITS = {"〇": 0, "零": 0, "O": 0, "o": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
           "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, **{str(d): d for d in range(10)}}
_NUMERAL = "〇零一二两三四五六七八九十"
_VALID_NUMERAL = re.compile(r"[一二两三四五六七八九]?十[一二三四五六七八九]?|[〇零一二两三四五六七八九]{1,4}")


def chinese_number(text: str) -> int:
    """Read a Chinese numeral up to 99, or a digit-by-digit year (二〇一一, 二0一五 → 2015).

    >>> chinese_number("二十一"), chinese_number("十二"), chinese_number("二〇一一")
    (21, 12, 2011)
    """
    if "十" not in text:
        value = 0
        for char in text:
            value = value * 10 + _DIGITS[char]
        return value
    tens, _, units = text.partition("十")
    return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[units] if units else 0)


# A numeral that counts something: before a unit, after 第/每/周, the start of a range of
# months (二至四月), an item of a list of quarters or months (一、二季度), or an hour after 上午/晚 (晚七点).
_COUNTED = re.compile(
    rf"(?<=[第每周])[{_NUMERAL}]+|[{_NUMERAL}]+(?=年|月|日|季|个|周|天|次|工作日|旬)"
    rf"|[{_NUMERAL}]+(?=[至到-][{_NUMERAL}]+月)|[{_NUMERAL}]+(?=(?:、[{_NUMERAL}]+)+(?:季|月))"
    rf"|(?<=上午|下午|晚上|中午|早上)[{_NUMERAL}]+(?=[点时])|(?<=晚)[{_NUMERAL}]+(?=[点时])"
    rf"|(?<=[点时到至-])[{_NUMERAL}]+(?=[点时分])"
)
# A year in Chinese numerals, maybe mixed with digits (二〇一一年, 二0一五年); not 2015年.
_YEAR_DIGITS = re.compile(r"(?=[〇零Oo0-9一二三四五六七八九]{0,3}[〇零Oo一二三四五六七八九])"
                          r"[〇零Oo0-9一二三四五六七八九]{4}(?=年)")
# Other spellings of the same thing, replaced in one pass (before numerals are read).
_SPELLING = re.compile(
    r"号|(?<=[\d一二三四五六七八九十])曰|(?<!农历)(?<![\d年])[一二三四五六七八九十]{1,2}月(?=初[一二三四五六七八九十]|廿)|元月|(?:星期|礼拜|周)[日天]|(?:星期|礼拜)(?=[一二三四五六1-7])|上、?下半年|个?(?:季度|季(?!节))"
    r"|(?:19|20)?[xX×*_]{2,4}年|(?:19|20)\d[xX]年|\*{2}年|(?<![A-Za-z\d])[xX](?=年)年|年终|毎|当天及前后|及前后|每个?月月|每个月|逐月|逐季度?"
)
_SPELLINGS = {"号": "日", "曰": "日", "元月": "1月", "星期": "周", "礼拜": "周", "周日": "周7", "周天": "周7",
              "星期日": "周7", "星期天": "周7", "礼拜日": "周7", "礼拜天": "周7", "及前后": "前后",
              "上下半年": "上半年、下半年", "上、下半年": "上半年、下半年", "年终": "年底", "毎": "每",
              "当天及前后": "前后", "每月月": "每月", "每个月月": "每月", "每个月": "每月",
              "逐月": "每月", "逐季": "每季度", "逐季度": "每季度"}
# After numerals are read: 每1周 is 每周, 周周5 (每周星期五) is 周5, a run of dashes is one.
_TIDY = re.compile(r"每1(?=[周月年天日季])|周(?=周)|-{2,}"
                   r"|(?<=[一二三四五六七八九十])[·•・.](?=[一二三四五六七八九十])")
_HAS_NUMERAL = re.compile(r"[〇零一二两三四五六七八九十]")


def _spelling(match: re.Match[str]) -> str:
    text = match.group(0)
    if text.endswith("月") and len(text) > 1 and text[0] in "一二三四五六七八九十":
        return "农历" + text  # 九月初九: a lunar month and day
    if text.endswith("年") and text not in _SPELLINGS:
        return ""  # 20xx年: the plan's year
    return _SPELLINGS.get(text, "季度")


def _counted(match: re.Match[str]) -> str:
    text = match.group(0)
    if not _VALID_NUMERAL.fullmatch(text):
        return text
    return str(chinese_number(text))


def _tidy(match: re.Match[str]) -> str:
    text = match.group(0)
    if text.startswith("每"):
        return "每"
    if text.startswith("-"):
        return "-"
    return ""  # the dot inside “七·一”


def _year_digits(match: re.Match[str]) -> str:
    return str(chinese_number(match.group(0)))


# 4·20 (a day written with a middle dot) is 4月20日, and so is 5.12 before a festival (5.12护士节).
_DOTTED_DAY = re.compile(r"(?<![\d.])(\d{1,2})[·•・](\d{1,2})(?![\d.])"
                         r"|(?<![\d.])(\d{1,2})\.(\d{1,2})(?=(?:国际)?(?:护士|儿童|妇女|劳动|青年|教师|建军|建党|国庆"
                         r"|植树|记者|医师|读书)节)"
                         r"|(?<![\d.共约有需用计])(\d{1,2})\.(\d{1,2})日")  # 4.23日举行 (not 共3.5日)


def _dotted_day(match: re.Match[str]) -> str:
    month, day = next((match.group(i), match.group(i + 1)) for i in (1, 3, 5) if match.group(i))
    return f"{month}月{day}日"


# 周一9:30 reads 周19:30 once numerals are digits: keep the weekday apart (每周19:30 is then
# Monday 9:30, the commoner meaning in plans).
_WEEKDAY_CLOCK = re.compile(r"周([1-7])(?=\d{1,2}:\d\d)")


def _weekday_clock(match: re.Match[str]) -> str:
    return f"周{match.group(1)}的"


# Words a time is written with that the grammar spells otherwise (after numerals are read).
_HOLIDAY = "元旦|春节|清明|五一|端午|中秋|国庆|三八|五四|六一|七一|八一"
_PHRASING = re.compile(
    r"(?<=每[月年周])的(?=[\d第最初底末中上下首])|(?<=每季度)的(?=[\d第最初底末首])|(?<=个月)的(?=\d)"
    r"|首个|首周|(?<=元旦|春节|清明|五一|端午|中秋|国庆|十一)(?:假期|小?长假(?:期间)?|放假期间)(?!间)|(?<=节)(?:假期|小?长假(?:期间)?|放假期间)(?!间)"
    r"|(?<=月)\d{1,2}(?=(?:-|至|到)\d{1,2}(?:月\d{1,2})?日)|(?<=\d月)\d{1,2}(?=\(周\d\))"
    r"|(?<=\d日)、(?=(?:上午|下午|晚上|中午|早上|晚)?\d{1,2}(?::\d\d|点|时))"  # 9月30日,上午7:00: its hour
    r"|(?<=第\d)周(?=\d)|(?<=\d日)一(?=\d{1,2}月\d)|(?<=\d月)\d{1,2}(?=上午|下午|晚上|中午|以前|之前|前)"
    r"|(?<!个)周\d\(\d{1,2}月\d{1,2}日\)"  # 周四(4月1日): the date, its weekday said first
    r"|第[1-4][1-4]季度"
    rf"|(?:{_HOLIDAY})(?=(?:{_HOLIDAY}))"
    # 4·23世界读书日, 12·4全国法制宣传日: the day's name after its date says the date again
    r"|(?<=\d日)(?:世界|全国|国际|中国)[\u4e00-\u9fff]{1,10}?(?:日|节|周)(?![\u4e00-\u9fff]*(?:日|节))"
    r"(?:\([\u4e00-\u9fff]{2,10}\))?"  # 12·5国际志愿者日(国际义工日): with its other name
    # 七一、国庆等重大节庆日期间: the 等…节日 only says what the listed days are
    r"|(?:(?<=元旦|春节|清明|五一|端午|中秋|国庆|三八|五四|六一|七一|八一|十一|重阳|除夕|元宵|七夕)|(?<=[节日]))"
    r"等(?:重大|重要|传统|法定|民族|主要)?(?:节庆日?|节日|节假日|假日|纪念日)(?=期间|前后|前夕|前|后|之际|当天)"
)


# 每周二、四、六: the weekdays after the first borrow its 每周 (每周2、每周4、每周6).
_WEEKDAY_LIST = re.compile(r"(每?周)([1-7])((?:、[一二三四五六日天1-7](?![\u4e00-\u9fff\d]{0,1}[月日号年周个次]))+)")
_WEEKDAYS_IN_WORDS = str.maketrans("一二三四五六日天", "12345677")


def _weekday_list(match: re.Match[str]) -> str:
    head = match.group(1)
    days = [match.group(2), *match.group(3).translate(_WEEKDAYS_IN_WORDS).split("、")[1:]]
    return "、".join(f"{head}{day}" for day in days)


def _phrasing(match: re.Match[str]) -> str:
    text = match.group(0)
    if text in ("的", "、"):
        return ""
    if text == "首个":
        return "第1个"
    if text == "首周":  # 每月首周周五 (by now 首周5): the first week's Friday
        after_it = match.string[match.end(): match.end() + 1]
        return "第1周的周" if after_it.isdigit() else "第1周的" if after_it == "周" else "第1周"
    if text.startswith(("世界", "全国", "国际", "中国")):
        return ""
    if text.startswith("周") and "(" in text:
        return text[3:-1]
    if text.startswith("等"):
        return ""
    if text.startswith(("假期", "长假", "小长假", "放假期间")):  # 五一长假(期间): the holiday's days off
        return "期间"
    if text.isdigit():  # 8月28-9月6日, 6月2(周一), 1月6下午: the day's 日 left out
        return f"{text}日"
    if text == "周":  # 每月第一周星期五 (by now 第1周5): the first week's Friday
        return "周的周"
    if text == "一":  # 1月5日一1月6日: a dash typed as 一
        return "-"
    if text.startswith("第"):
        return f"第{text[1]}季度至第{text[2]}季度"
    return f"{text}、"


# The steps of normalize, in order; ``normalize_spans`` runs the same list.
_STEPS: list[tuple[re.Pattern[str], object]] = [
    (_SPELLING, _spelling),
    (_YEAR_DIGITS, _year_digits),
    (_COUNTED, _counted),
    (_DOTTED_DAY, _dotted_day),
    (_TIDY, _tidy),
    (_WEEKDAY_CLOCK, _weekday_clock),
    (_WEEKDAY_LIST, _weekday_list),
    (_PHRASING, _phrasing),
]


def normalize(text: str) -> str:
    """Return the one spelling the grammar reads (see the module docstring).

    >>> normalize("二〇一一年十二月十五號前")
    '2011年12月15日前'
    >>> normalize("「七一」前夕"), normalize("每週五（上午）")
    ('七一前夕', '每周5(上午)')
    """
    text = _SPELLING.sub(_spelling, to_simplified(text).translate(_PUNCT))
    if _HAS_NUMERAL.search(text):
        text = _YEAR_DIGITS.sub(_year_digits, text)
        text = _COUNTED.sub(_counted, text)
    text = _TIDY.sub(_tidy, _DOTTED_DAY.sub(_dotted_day, text))
    text = _WEEKDAY_CLOCK.sub(_weekday_clock, text)
    if "周" in text and "、" in text:
        text = _WEEKDAY_LIST.sub(_weekday_list, text)
    return _PHRASING.sub(_phrasing, text)


def normalize_spans(text: str) -> tuple[str, list[int], list[int]]:
    """normalize(text), and for each character of it where it came from in ``text``.

    ``starts[i]:ends[i]`` is the part of ``text`` that the i-th character stands for, so a
    match in the normalised text maps back to ``text[starts[a]:ends[b - 1]]``.
    """
    simple = to_simplified(text)
    out: list[str] = []
    starts: list[int] = []
    for i, char in enumerate(simple):
        mapped = char.translate(_PUNCT)
        if mapped:
            out.append(mapped)
            starts.append(i)
    current, ends = "".join(out), [i + 1 for i in starts]
    for pattern, replace in _STEPS:
        current, starts, ends = _sub_spans(pattern, replace, current, starts, ends)  # type: ignore[arg-type]
    return current, starts, ends


def _sub_spans(pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str], text: str,
               starts: list[int], ends: list[int]) -> tuple[str, list[int], list[int]]:
    pieces: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    last = 0
    for m in pattern.finditer(text):
        new = replace(m)
        if new == m.group(0):
            continue
        pieces.append(text[last: m.start()])
        new_starts += starts[last: m.start()]
        new_ends += ends[last: m.start()]
        if new:
            pieces.append(new)
            new_starts += [starts[m.start()]] * len(new)
            new_ends += [ends[m.end() - 1]] * len(new)
        last = m.end()
    if not pieces:
        return text, starts, ends
    pieces.append(text[last:])
    new_starts += starts[last:]
    new_ends += ends[last:]
    return "".join(pieces), new_starts, new_ends
