"""A small thread pool: the guests are defined and started side by side."""
from __future__ import absolute_import, division, print_function

import threading


def parallel_map(func, items, parallel):
    """[func(item) for item in items] with up to `parallel` threads at once.
    Results in the order of items; every item runs, then the first
    exception (in item order) is raised."""
    items = list(items)
    results, errors = [None] * len(items), [None] * len(items)
    pending = list(range(len(items)))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not pending:
                    return
                index = pending.pop(0)
            try:
                results[index] = func(items[index])
            except Exception as error:
                errors[index] = error
    threads = [threading.Thread(target=worker)
               for _ in range(max(1, min(parallel, len(items))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for error in errors:
        if error is not None:
            raise error
    return results
