"""A small Qt form of the tests' own (PyQt5 from Debian's python3-pyqt5, run by /usr/bin/python3).

Labels left of their fields (QFormLayout), a password field, a combo box and a checkbox that
starts checked. Another field (Notes) has the focus when the window opens, so text typed "into"
a label lands in the right field only if the field beside the label is clicked. OK prints the
values on one line, ``|``-separated as zenity does, and exits. ``--state PATH``: the widgets'
screen geometry, the checkboxes' states, the combo box's text and its open list's rows are
written there ten times a second (what a test's scripted model answers from).
"""

import json
import os
import sys

from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QStyle,
    QStyleOptionButton,
)

app = QApplication(sys.argv)
app.setStyle("Fusion")
dialog = QDialog()
dialog.setWindowTitle("Qt signup")
form = QFormLayout(dialog)
name, city, notes, password = QLineEdit(), QLineEdit(), QLineEdit(), QLineEdit()
city.setText("Lyon")
password.setEchoMode(QLineEdit.Password)
country = QComboBox()
country.addItems(["France", "Spain", "Italy"])
newsletter = QCheckBox("Newsletter")
newsletter.setChecked(True)
terms = QCheckBox("Accept terms")
for label, widget in (("Name", name), ("City", city), ("Notes", notes),
                      ("Password", password), ("Country", country)):
    form.addRow(label, widget)
form.addRow(newsletter)
form.addRow(terms)
buttons = QDialogButtonBox(QDialogButtonBox.Ok)
form.addRow(buttons)


def done() -> None:
    values = [name.text(), city.text(), notes.text(), password.text(), country.currentText(),
              str(newsletter.isChecked()), str(terms.isChecked())]
    print("|".join(values), flush=True)
    app.quit()


buttons.accepted.connect(done)


def geometry(widget, rect=None):
    rect = rect if rect is not None else widget.rect()
    corner = widget.mapToGlobal(rect.topLeft())
    return [corner.x(), corner.y(), rect.width(), rect.height()]


def indicator(box):
    option = QStyleOptionButton()
    box.initStyleOption(option)
    return geometry(box, box.style().subElementRect(QStyle.SE_CheckBoxIndicator, option, box))


def write_state(path):
    view = country.view()
    rows = {}
    if view.isVisible():
        for row in range(country.count()):
            rect = view.visualRect(country.model().index(row, 0))
            rows[country.itemText(row)] = geometry(view.viewport(), rect)
    state = {
        "widgets": {"Name": geometry(name), "City": geometry(city), "Notes": geometry(notes),
                    "Password": geometry(password), "Country": geometry(country),
                    "Newsletter": indicator(newsletter), "Accept terms": indicator(terms),
                    "OK": geometry(buttons.button(QDialogButtonBox.Ok))},
        "checked": {"Newsletter": newsletter.isChecked(), "Accept terms": terms.isChecked()},
        "country": country.currentText(),
        "rows": rows,
    }
    with open(path + ".tmp", "w") as file:
        json.dump(state, file)
    os.replace(path + ".tmp", path)


if "--state" in sys.argv:
    timer = QTimer()
    timer.timeout.connect(lambda: write_state(sys.argv[sys.argv.index("--state") + 1]))
    timer.start(100)
dialog.resize(420, 320)
dialog.move(60, 60)
dialog.show()
notes.setFocus()
sys.exit(app.exec_())
