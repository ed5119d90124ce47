"""End-to-end: the museum app in a real headless browser (Debian's chromium + chromedriver,
installed by tools/personart/install_browser.sh): upload a face, see results, give feedback, see
the order change, tick an attribute, upload a non-image and read the message."""
import shutil

import numpy as np
import pytest

from .app_utils import jpeg

pytest.importorskip('selenium', reason='selenium is not installed (requirements/personart.txt)')


@pytest.fixture(scope='module')
def browser():
    chromium, driver = shutil.which('chromium'), shutil.which('chromedriver')
    if not (chromium and driver):
        pytest.skip('chromium / chromedriver not installed: run tools/personart/install_browser.sh')
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                '--window-size=1400,1000'):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(executable_path=driver), options=opts)
    yield drv
    drv.quit()


# The results list is re-rendered on every answer: read it in one script call so that no element
# handle can go stale between finding it and reading it.
RESULTS_JS = ("return [...document.querySelectorAll('#results li')].map(li => "
              "[li.getAttribute('data-id'), li.querySelector('.score').textContent])")


def results(driver):
    """[(data-id, score text)] of the results list, read atomically."""
    return [tuple(r) for r in driver.execute_script(RESULTS_JS)]


def test_upload_feedback_and_bad_file(generated_app, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
    wait = WebDriverWait(browser, 60)
    selfie = tmp_path / 'selfie.jpg'
    selfie.write_bytes(jpeg(generated_app['selfie']))
    browser.get(generated_app['url'] + '/')
    browser.find_element(By.ID, 'file').send_keys(str(selfie))
    browser.find_element(By.ID, 'upload').click()
    wait.until(lambda d: len(results(d)) == 6)
    first = [i for i, _ in results(browser)]
    scores = [float(t) for _, t in results(browser)]
    assert scores == sorted(scores, reverse=True)
    # explanation heat-maps load as images
    wait.until(lambda d: d.execute_script(
        "return [...document.querySelectorAll('#results img.heatmap')]"
        ".every(i => i.complete && i.naturalWidth > 0)"))
    assert 'integrated gradients' in browser.find_element(By.ID, 'explanation').text
    browser.find_element(By.CSS_SELECTOR, f'#results li[data-id="{first[-1]}"] .pos').click()
    browser.find_element(By.CSS_SELECTOR, f'#results li[data-id="{first[0]}"] .neg').click()
    wait.until(EC.text_to_be_present_in_element((By.ID, 'iteration'), '1'))
    wait.until(lambda d: [i for i, _ in results(d)] != first)
    after = [i for i, _ in results(browser)]
    assert after.index(first[-1]) < 5
    # tick an attribute that some paintings have: the results are exactly those
    service = generated_app['service']
    bits = service.gallery.attributes
    col = int(np.argmax(np.where(bits.all(0), -1, bits.sum(0))))
    name = service.gallery.attribute_names[col]
    browser.find_element(By.CSS_SELECTOR, f'#attributes input[value="{name}"]').click()

    def filtered(d):
        ids = [int(i) for i, _ in results(d)]
        return len(ids) == min(6, bits[:, col].sum()) and all(bits[ids, col])
    wait.until(filtered)
    # a non-image upload: a clear message, the page keeps working
    bad = tmp_path / 'notes.txt'
    bad.write_text('this is not a photo')
    browser.find_element(By.ID, 'file').send_keys(str(bad))
    browser.find_element(By.ID, 'upload').click()
    wait.until(EC.text_to_be_present_in_element((By.ID, 'message'), 'not an image'))
