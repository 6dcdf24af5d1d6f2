//! The web page in a real browser: Debian's Chromium, headless, driven over the DevTools
//! protocol. Skipped (with a note) where Chromium is not installed, unless
//! `EFFICIENTNET_REQUIRE_BROWSER=1` (CI sets it and installs Chromium), where it fails.
//! `EFFICIENTNET_SCREENSHOT=FILE.png` also saves a screenshot of the answered page (of the
//! model `EFFICIENTNET_SERVE_MODEL` with `EFFICIENTNET_SERVE_WEIGHTS`, where both are set).

use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::Duration;

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions};

use crate::common::{fixture, scratch};
use crate::{Server, fixture_bytes, post};

/// The Chromium binary: `$CHROME`, else Debian's.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("CHROME")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    path.exists().then_some(path)
}

/// Headless Chromium with a fresh profile and no background traffic.
fn launch(path: PathBuf) -> Browser {
    let profile = scratch("chromium-profile");
    let options = LaunchOptions::default_builder()
        .path(Some(path))
        .headless(true)
        .sandbox(false)
        .window_size(Some((1000, 640)))
        .user_data_dir(Some(profile))
        .idle_browser_timeout(Duration::from_secs(300))
        .args(
            [
                "--disable-gpu",
                "--disable-quic",
                "--disable-component-update",
                "--no-default-browser-check",
            ]
            .iter()
            .map(OsStr::new)
            .collect(),
        )
        .build()
        .expect("launch options");
    Browser::new(options).expect("Chromium starts")
}

#[test]
fn the_page_classifies_an_upload_in_chromium() {
    let Some(path) = chromium() else {
        let required = std::env::var("EFFICIENTNET_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "EFFICIENTNET_REQUIRE_BROWSER=1 but no Chromium (/usr/bin/chromium)"
        );
        eprintln!("skipped: no Chromium at /usr/bin/chromium (apt-get install chromium)");
        return;
    };
    // The README's screenshot serves real weights: EFFICIENTNET_SERVE_MODEL and _WEIGHTS.
    let server = match (
        std::env::var("EFFICIENTNET_SERVE_MODEL"),
        std::env::var("EFFICIENTNET_SERVE_WEIGHTS"),
    ) {
        (Ok(model), Ok(weights)) => Server::start_with(&model, &weights, &[]),
        _ => Server::start(&[]),
    };
    // Chromium cannot read a path with `..` in it.
    let photo = fixture("images/chelsea.jpg")
        .canonicalize()
        .expect("fixture");
    let api = post(
        &server.url("/v1/classify"),
        &fixture_bytes("images/chelsea.jpg"),
    );
    let expected = api.json()["predictions"][0]["label"]
        .as_str()
        .expect("label")
        .to_owned();

    let browser = launch(path);
    let tab = browser.new_tab().expect("tab");
    tab.navigate_to(&server.url("/"))
        .expect("navigate")
        .wait_until_navigated()
        .expect("page loads");
    tab.wait_for_element("#file")
        .expect("file input")
        .set_input_files(&[photo.to_str().expect("utf-8 path")])
        .expect("file chosen");
    tab.wait_for_element_with_custom_timeout(
        "#result[data-state='done']",
        Duration::from_secs(120),
    )
    .expect("the page shows an answer");
    let top1 = tab
        .find_element("#top1")
        .expect("top-1")
        .get_inner_text()
        .expect("text");
    assert_eq!(top1, expected);
    let bars = tab.find_elements("#bars li").expect("bars");
    assert_eq!(bars.len(), 5);
    assert!(
        tab.find_element("#error")
            .expect("error box")
            .get_inner_text()
            .expect("text")
            .is_empty()
    );

    if let Some(out) = std::env::var_os("EFFICIENTNET_SCREENSHOT") {
        let png = tab
            .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
            .expect("screenshot");
        std::fs::write(&out, png).expect("screenshot written");
    }
}
