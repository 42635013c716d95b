"""A small Tk form of the tests' own: labels left of their entries (grid), an OptionMenu and a
Checkbutton that starts checked, as a Tk program lays a form out. Another entry (Notes) has the
focus when the window opens, and a click on a Tk label does not move it, so text typed "into" a
label lands in the right field only if the entry beside it is clicked. OK prints the values on
one line, ``|``-separated as zenity does, and exits.
"""

import tkinter as tk

root = tk.Tk()
root.title("Tk signup")
root.geometry("+60+60")
entries = {}
for row, label in enumerate(("Name", "City", "Notes")):
    tk.Label(root, text=label, font=("DejaVu Sans", 12)).grid(row=row, column=0, sticky="w",
                                                              padx=8, pady=6)
    entry = tk.Entry(root, width=24, font=("DejaVu Sans", 12))
    entry.grid(row=row, column=1, padx=8, pady=6)
    entries[label] = entry
entries["City"].insert(0, "Lyon")
country = tk.StringVar(value="France")
tk.Label(root, text="Country", font=("DejaVu Sans", 12)).grid(row=3, column=0, sticky="w",
                                                              padx=8, pady=6)
menu = tk.OptionMenu(root, country, "France", "Spain", "Italy")
menu.configure(font=("DejaVu Sans", 12), width=12)
menu["menu"].configure(font=("DejaVu Sans", 12))
menu.grid(row=3, column=1, sticky="w", padx=8, pady=6)
newsletter = tk.BooleanVar(value=True)
tk.Checkbutton(root, text="Newsletter", variable=newsletter, font=("DejaVu Sans", 12)).grid(
    row=4, column=0, columnspan=2, sticky="w", padx=8, pady=4)
terms = tk.BooleanVar(value=False)
tk.Checkbutton(root, text="Accept terms", variable=terms, font=("DejaVu Sans", 12)).grid(
    row=5, column=0, columnspan=2, sticky="w", padx=8, pady=4)


def done() -> None:
    values = [entries["Name"].get(), entries["City"].get(), entries["Notes"].get(), country.get(),
              str(newsletter.get()), str(terms.get())]
    print("|".join(values), flush=True)
    root.destroy()


tk.Button(root, text="OK", font=("DejaVu Sans", 12), command=done).grid(row=6, column=1,
                                                                          sticky="e", padx=8,
                                                                          pady=8)
entries["Notes"].focus_force()
root.mainloop()
