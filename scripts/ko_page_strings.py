"""Korean for the page strings of the i18n-infrastructure engineer (templates and static/js, issue 14).

`python scripts/ko_page_strings.py` writes these into locale/ko/LC_MESSAGES/django.po and djangojs.po (after
makemessages), leaving every other entry as it is. Keys are msgid or (msgctxt, msgid); plurals are lists.
Terms follow locale/glossary.tsv. It then compiles both catalogs with msgfmt (compilemessages would also compile
the fragments/ of the other translators, which only the lead merges).
"""

import subprocess
from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent.parent / "locale" / "ko" / "LC_MESSAGES"

DJANGO = {
    # base.html
    "Menu": "메뉴",
    "Dashboard": "홈",
    ("navigation", "Market"): "시세",
    "Portfolio": "잔고",
    "Orders": "주문",
    "Watchlist": "관심종목",
    "Premium": "프리미엄",
    "Admin": "관리자",
    "Log out": "로그아웃",
    "Log in": "로그인",
    "Sign up": "회원가입",
    "Language": "언어",
    "Paper trading with virtual money on KRX prices. Not investment advice.": (
        "KRX 시세로 가상 자금을 운용하는 모의투자입니다. 투자 권유가 아닙니다."
    ),
    "Rules": "규칙",
    # dashboard, home
    "Equity": "총자산",
    "Available cash": "주문가능금액",
    "Market value": "평가금액",
    "%(counter)s holding": ["보유종목 %(counter)s개"],
    "Search KOSPI and KOSDAQ stocks by code, Korean or English name.": (
        "KOSPI·KOSDAQ 종목을 코드나 한글·영문 종목명으로 찾아보세요."
    ),
    "Holdings, profit and loss, deposits and withdrawals.": "보유종목, 손익, 입금과 출금.",
    "Watchlists": "관심종목",
    "Keep lists of the stocks you follow.": "지켜보는 종목을 목록으로 모아 두세요.",
    "Trade from scripts with the REST API and a JWT.": "REST API와 JWT로 스크립트에서 거래하세요.",
    "Practise investing": "모의투자",
    "Practise investing on Korean market prices": "한국 주식 시세로 모의투자를 연습하세요",
    "Start with 10,000,000원 of virtual cash. Buy and sell KOSPI and KOSDAQ stocks with market, limit and stop "
    "orders, and follow your profit and loss — nothing real at risk.": (
        "가상 예수금 10,000,000원으로 시작합니다. 시장가·지정가·스톱 주문으로 KOSPI·KOSDAQ 종목을 매수·매도하고 "
        "손익을 확인하세요. 실제 돈은 전혀 들지 않습니다."
    ),
    "Open a paper account": "모의투자 계좌 만들기",
    "Browse the market": "시세 보기",
    # market
    "Code": "종목코드",
    "Name": "종목명",
    "Current price": "현재가",
    "Change": "등락률",
    "English name": "영문 종목명",
    ("exchange", "Market"): "시장",
    "Sector": "업종",
    "No stocks match “%(query)s”.": "“%(query)s”에 맞는 종목이 없습니다.",
    "Previous": "이전",
    "Page %(number)s of %(pages)s · %(count)s stocks": "%(pages)s쪽 중 %(number)s쪽 · %(count)s종목",
    "Next": "다음",
    "Search: 삼성전자, Samsung, 005930": "종목명 또는 코드 검색 (삼성전자, 005930)",
    "Search stocks": "종목 검색",
    "All markets": "전체 시장",
    "Search": "검색",
    # stock page
    "connecting…": "연결 중…",
    ("opening price", "Open"): "시가",
    "Day high": "고가",
    "Day low": "저가",
    "Prev. close": "전일 종가",
    "Volume": "거래량",
    "Price chart": "가격 차트",
    "Interval": "봉 간격",
    "Loading the order ticket…": "주문창을 불러오는 중…",
    "Order": "주문",
    '<a href="%(login_url)s?next=%(next)s">Log in</a> to trade %(name)s with your paper account.': (
        '모의투자 계좌로 %(name)s을(를) 거래하려면 <a href="%(login_url)s?next=%(next)s">로그인</a>하세요.'
    ),
    "Simulated prices": "모의 시세",
    "Real-time prices": "실시간 시세",
    # portfolio
    "Cash": "예수금",
    "Withdrawable": "출금가능금액 (D+2)",
    "Sale proceeds settle two trading days after the sale (T+2)": "매도 대금은 매도 후 2영업일에 결제됩니다 (D+2)",
    "Reserved": "주문 중",
    "Realized P&L": "실현손익",
    "Unrealized P&L": "평가손익",
    "Deposit": "입금",
    "Amount to deposit, in won": "입금할 금액 (원)",
    "Withdraw": "출금",
    "Amount to withdraw, in won": "출금할 금액 (원)",
    "Up to %(amount)s": "최대 %(amount)s",
    "Reset account": "계좌 초기화",
    "Holdings": "보유종목",
    "Stock": "종목",
    "Qty": "수량",
    "Average cost": "평균단가",
    "reserved by open sell orders": "미체결 매도 주문에 묶인 수량",
    "%(held)s held": "%(held)s주 주문 중",
    "No fresh price: valued at the last fill": "최신 시세 없음: 마지막 체결가로 평가",
    "last fill": "최근 체결가",
    'No holdings yet. Find a stock on the <a href="%(market_url)s">market</a> page.': (
        '아직 보유종목이 없습니다. <a href="%(market_url)s">시세</a> 화면에서 종목을 찾아보세요.'
    ),
    "Ledger": "거래내역",
    "Download CSV": "CSV 내려받기",
    "Every movement of cash in your account, newest first. Rows are never changed.": (
        "계좌의 모든 입출금과 거래를 최신순으로 보여 줍니다. 기록은 바뀌지 않습니다."
    ),
    "Filter": "조회",
    "Clear": "초기화",
    "Time": "시각",
    "Type": "구분",
    "Price": "가격",
    "Amount": "금액",
    "Fees & tax": "수수료·세금",
    "Cash after": "거래 후 예수금",
    "No rows match.": "조건에 맞는 내역이 없습니다.",
    "Newer": "최근",
    "Older": "이전",
    "Page %(number)s of %(pages)s": "%(pages)s쪽 중 %(number)s쪽",
    "No single stock in your ledger is named “%(name)s”.": (
        "거래내역에서 “%(name)s”(으)로 찾을 수 있는 종목이 하나로 정해지지 않습니다. "
        "종목코드나 정확한 종목명을 입력하세요."
    ),
    "Start over?": "처음부터 다시 시작할까요?",
    "Your current account (equity <strong>%(equity)s</strong>) will be closed: open orders are canceled, and its "
    "ledger and orders are kept on record (they no longer show on your pages). A fresh account opens with the "
    "starting cash.": (
        "지금 계좌(총자산 <strong>%(equity)s</strong>)는 해지됩니다. 미체결 주문은 취소되고, 거래내역과 주문은 "
        "기록으로 남습니다(화면에는 더 이상 보이지 않습니다). 새 계좌가 초기 예수금으로 개설됩니다."
    ),
    "Free accounts can be reset once every %(days)s days; premium resets are unlimited.": (
        "무료 계좌는 %(days)s일에 한 번 초기화할 수 있고, 프리미엄은 제한이 없습니다."
    ),
    'Type <strong translate="no">RESET</strong> to confirm': (
        '확인하려면 <strong translate="no">RESET</strong>을 입력하세요'
    ),
    "Reset my paper account": "모의투자 계좌 초기화",
    "Keep my account": "계좌 유지하기",
    # watchlists
    "Create list": "목록 만들기",
    "%(count)s of %(max_lists)s lists · up to %(max_items)s stocks each": (
        "목록 %(max_lists)s개 중 %(count)s개 · 목록마다 최대 %(max_items)s종목"
    ),
    "Rename": "이름 바꾸기",
    "New name for %(name)s": "%(name)s의 새 이름",
    "Save": "저장",
    "Delete the list “%(name)s”?": "“%(name)s” 목록을 삭제할까요?",
    "Delete list": "목록 삭제",
    "Remove": "삭제",
    "Remove %(name)s": "%(name)s 삭제",
    "Empty. Search below to add stocks.": "비어 있습니다. 아래에서 종목을 검색해 추가하세요.",
    "Add a stock: name or code": "종목 추가: 종목명 또는 코드",
    "Add a stock to %(name)s": "%(name)s에 종목 추가",
    "No watchlists yet. Create one to follow stocks you care about.": (
        "관심종목 목록이 아직 없습니다. 목록을 만들어 관심 있는 종목을 지켜보세요."
    ),
    "No stock matches “%(query)s”.": "“%(query)s”에 맞는 종목이 없습니다.",
    # premium
    "Payment history": "결제 내역",
    "Date": "일시",
    "Plan": "상품",
    "Status": "상태",
    "Payment id": "결제 번호",
    "No payments yet.": "결제 내역이 없습니다.",
    "Your plan": "내 이용권",
    '<span class="badge premium">PREMIUM</span> until <strong>%(until)s</strong> <span class="muted">(KST)</span>': (
        '<span class="badge premium">프리미엄</span> <strong>%(until)s</strong>까지 <span class="muted">(KST)</span>'
    ),
    '<span class="badge">FREE</span> Your premium was refunded and ended %(ended)s.': (
        '<span class="badge">무료</span> 프리미엄이 환불되어 %(ended)s에 종료되었습니다.'
    ),
    '<span class="badge">FREE</span> Your premium expired on %(ended)s.': (
        '<span class="badge">무료</span> 프리미엄이 %(ended)s에 만료되었습니다.'
    ),
    '<span class="badge">FREE</span> You are on the free plan.': '<span class="badge">무료</span> 무료 이용 중입니다.',
    "StocKing Premium": "StocKing 프리미엄",
    "Payments are turned off on this server, so premium cannot be bought here right now. Your subscription and "
    "payment history are shown below.": (
        "이 서버에서는 결제가 꺼져 있어 지금은 프리미엄을 구매할 수 없습니다. 이용권과 결제 내역은 아래에 있습니다."
    ),
    "<strong>TEST MODE</strong> — no PortOne keys are configured, so no real payment happens: the payment window "
    "is simulated and a built-in fake PortOne confirms the payment. Nothing is charged.": (
        "<strong>테스트 모드</strong> — 포트원 키가 설정되지 않아 실제 결제는 일어나지 않습니다. 결제창은 "
        "흉내만 내고, 내장된 가짜 포트원이 결제를 확인합니다. 요금은 청구되지 않습니다."
    ),
    "What premium gives": "프리미엄 혜택",
    "<strong>%(lists)s watchlists</strong> of up to <strong>%(items)s stocks</strong> each (free: %(free_lists)s × "
    "%(free_items)s)": (
        "관심종목 목록 <strong>%(lists)s개</strong>, 목록마다 최대 <strong>%(items)s종목</strong> "
        "(무료: %(free_lists)s × %(free_items)s)"
    ),
    "<strong>Unlimited account resets</strong> (free: one every 30 days)": (
        "<strong>계좌 초기화 무제한</strong> (무료: 30일에 한 번)"
    ),
    "One payment, no automatic renewal. Buying again while premium adds the days to your current period.": (
        "한 번 결제하며 자동 갱신되지 않습니다. 이용 중에 다시 구매하면 남은 기간에 일수가 더해집니다."
    ),
    "Plans": "이용권",
    "%(days)s days of premium": "프리미엄 %(days)s일",
    "Buy for %(price)s": "%(price)s에 구매",
    "No plans are for sale right now.": "지금 판매 중인 이용권이 없습니다.",
    # admin pages
    "Home": "홈",
    "Marketdata": "시세 데이터",
    "Relay": "릴레이",
    "Heartbeat": "하트비트",
    "unknown": "알 수 없음",
    "State <strong>%(state)s</strong>": "상태 <strong>%(state)s</strong>",
    ", written %(age)s s ago": ", %(age)s초 전 기록",
    "No heartbeat in Redis: the relay (<code>manage.py run_relay</code>) is not running or cannot reach Redis.": (
        "Redis에 하트비트가 없습니다: 릴레이(<code>manage.py run_relay</code>)가 실행 중이 아니거나 Redis에 "
        "연결할 수 없습니다."
    ),
    "Subscriptions (%(count)s)": "구독 (%(count)s)",
    "The relay keeps these topics subscribed and resubscribes them after a restart.": (
        "릴레이는 이 토픽들을 구독하고, 다시 시작한 뒤에도 다시 구독합니다."
    ),
    "The simulator trades every active stock while this list is empty, and only the listed stocks once it is not: "
    "subscribing one stock makes every other stock's price go stale.": (
        "이 목록이 비어 있으면 시뮬레이터가 모든 활성 종목을 거래하고, 목록이 있으면 목록의 종목만 거래합니다. "
        "한 종목을 구독하면 다른 종목의 시세는 멈춥니다."
    ),
    "Topic": "토픽",
    "Unsubscribe": "구독 해지",
    "None.": "없음.",
    "Subscribe or unsubscribe": "구독 또는 구독 해지",
    "Publishes a command to the relay and waits up to 30 s for its answer.": (
        "릴레이에 명령을 보내고 최대 30초 동안 응답을 기다립니다."
    ),
    "Send to the relay": "릴레이로 보내기",
    "Cash now: <strong>%(cash)s</strong> (reserved %(reserved)s). The correction is written as an ADJUSTMENT row in "
    "the ledger with your name and the reason; no row is ever changed.": (
        "현재 예수금: <strong>%(cash)s</strong> (주문 중 %(reserved)s). 정정은 관리자 이름과 사유와 함께 거래내역에 "
        "조정(ADJUSTMENT) 행으로 기록되며, 기존 행은 바뀌지 않습니다."
    ),
    "Write the adjustment": "조정 기록하기",
    "Each payment below is cancelled in full at PortOne, marked CANCELLED here, and the premium days it bought are "
    "taken back (the subscription ends when none are left).": (
        "아래 결제는 포트원에서 전액 취소되고 여기서 취소(CANCELLED)로 표시되며, 그 결제로 산 프리미엄 일수는 "
        "회수됩니다(남은 일수가 없으면 이용권이 끝납니다)."
    ),
    "%(counter)s selected payment not paid: left alone.": [
        "선택한 결제 중 %(counter)s건은 결제 완료가 아니어서 그대로 둡니다."
    ],
    "Refund %(counter)s payment at PortOne": ["포트원에서 %(counter)s건 환불"],
    ("ledger memo", "Opening deposit"): "최초 입금",
    # portfolio/forms.py, shown on the portfolio, ledger and watchlist pages
    "e.g. 1000000": "예: 1000000",
    "Enter a whole number of won.": "원 단위 정수로 입력하세요.",
    "Enter at least 1원.": "1원 이상 입력하세요.",
    "Enter at most {amount}원.": "{amount}원 이하로 입력하세요.",
    "All types": "전체 구분",
    "Transaction type": "거래 구분",
    "Stock name or code": "종목명 또는 코드",
    "From day": "시작일",
    "To day": "종료일",
    "Must not be before the start date.": "시작일보다 앞설 수 없습니다.",
    "New list, e.g. 반도체": "새 목록 (예: 반도체)",
    "New watchlist name": "새 관심종목 목록 이름",
    # ledger rows (portfolio/models.py choices shown on the ledger page)
    ("transaction type", "Buy"): "매수",
    ("transaction type", "Sell"): "매도",
    ("transaction type", "Deposit"): "입금",
    ("transaction type", "Withdraw"): "출금",
    ("transaction type", "Fee"): "수수료",
    ("transaction type", "Tax"): "세금",
    ("transaction type", "Dividend"): "배당",
    ("transaction type", "Adjustment"): "조정",
}

DJANGOJS = {
    "Filled: bought %(quantity)s %(stock)s at %(price)s": "체결: %(stock)s %(quantity)s주 매수 %(price)s",
    "Filled: sold %(quantity)s %(stock)s at %(price)s": "체결: %(stock)s %(quantity)s주 매도 %(price)s",
    "Partly filled: %(filled)s/%(quantity)s %(stock)s at %(price)s": (
        "부분체결: %(stock)s %(filled)s/%(quantity)s주 %(price)s"
    ),
    "Canceled: buy %(quantity)s %(stock)s": "취소: %(stock)s %(quantity)s주 매수",
    "Canceled: sell %(quantity)s %(stock)s": "취소: %(stock)s %(quantity)s주 매도",
    "Expired: buy %(quantity)s %(stock)s": "만료: %(stock)s %(quantity)s주 매수",
    "Expired: sell %(quantity)s %(stock)s": "만료: %(stock)s %(quantity)s주 매도",
    "Rejected: buy %(quantity)s %(stock)s — %(reason)s": "거부: %(stock)s %(quantity)s주 매수 — %(reason)s",
    "Rejected: sell %(quantity)s %(stock)s — %(reason)s": "거부: %(stock)s %(quantity)s주 매도 — %(reason)s",
    "Connected": "연결됨",
    "Reconnecting…": "다시 연결 중…",
    "Payment failed: %(reason)s": "결제 실패: %(reason)s",
    "The server answered %(status)s; try again.": "서버가 %(status)s 응답을 보냈습니다. 다시 시도하세요.",
    "Confirming the payment with PortOne…": "포트원에서 결제를 확인하는 중…",
    "Payment complete. Premium is active until %(until)s (KST).": (
        "결제 완료. 프리미엄이 %(until)s (KST)까지 적용됩니다."
    ),
    "Preparing the payment…": "결제를 준비하는 중…",
    "Complete the payment in the PortOne window…": "포트원 결제창에서 결제를 마치세요…",
    "Loading…": "불러오는 중…",
    "Chart history unavailable: showing new ticks only": "차트 기록을 불러오지 못했습니다: 새 체결만 표시합니다",
    "No trades recorded yet: the next tick draws the first bar": (
        "아직 체결 기록이 없습니다: 다음 체결이 첫 봉을 그립니다"
    ),
}


def fill(domain: str, translations: dict) -> list[str]:
    """Write the translations into the domain's .po; returns the keys that no longer have an entry."""
    path = LOCALE / f"{domain}.po"
    po = polib.pofile(str(path), wrapwidth=0)
    entries = {(entry.msgctxt, entry.msgid): entry for entry in po}
    missing = []
    for key, text in translations.items():
        msgctxt, msgid = key if isinstance(key, tuple) else (None, key)
        entry = entries.get((msgctxt, msgid))
        if entry is None:
            missing.append(msgid)
            continue
        if entry.msgid_plural:
            entry.msgstr_plural = dict(enumerate(text))
        else:
            entry.msgstr = text
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
    po.metadata.update(
        {
            "Project-Id-Version": "StocKing",
            "Language": "ko",
            "Content-Type": "text/plain; charset=UTF-8",
            "Plural-Forms": "nplurals=1; plural=0;",
        }
    )
    po.metadata_is_fuzzy = False
    po.save(str(path))
    return missing


if __name__ == "__main__":
    for domain, translations in (("django", DJANGO), ("djangojs", DJANGOJS)):
        for msgid in fill(domain, translations):
            print(f"{domain}: no entry for {msgid!r} (removed from the code?)")
        po = LOCALE / f"{domain}.po"
        subprocess.run(["msgfmt", "--check", "-o", str(po.with_suffix(".mo")), str(po)], check=True)  # noqa: S603,S607
