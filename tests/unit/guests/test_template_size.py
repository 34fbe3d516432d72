"""The domain template's size limit (issue 23): a template of exactly
1 MiB is read, one byte more is refused with a message naming the file
and the limit, not read into memory whole."""
from __future__ import absolute_import, division, print_function

import os

import pytest

from virt_guests import render


def template_of(tmp_path, size):
    """The shipped template, padded with a comment to `size` bytes."""
    with open(render.DEFAULT_TEMPLATE, 'rb') as stream:
        text = stream.read().rstrip() + b'\n<!--'
    text += b' ' * (size - len(text) - len(b'-->\n')) + b'-->\n'
    assert len(text) == size
    path = os.path.join(str(tmp_path), 'template.xml')
    with open(path, 'wb') as stream:
        stream.write(text)
    return path


def test_a_template_of_the_largest_size_is_read(tmp_path):
    root = render.load_template(template_of(tmp_path, 1 << 20))
    assert root.tag == 'domain'
    assert root.find('devices') is not None


def test_a_template_one_byte_larger_is_refused_naming_it_and_the_limit(tmp_path):
    path = template_of(tmp_path, (1 << 20) + 1)
    with pytest.raises(render.TemplateError) as caught:
        render.load_template(path)
    assert str(caught.value) == 'domain template %s is larger than 1024 KiB' % path
