from tests.badinput.case import Case

CASES: list[Case] = []
