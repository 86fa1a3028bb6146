//! Sound devices through cpal: listing them, choosing one by name, opening the microphone as a
//! [`LiveInput`], and playing audio out.
//!
//! The input device is opened at its native rate and sample format; conversion to 16 kHz mono
//! happens later, in `listen`. cpal streams are not `Send`, so a dedicated thread owns each one
//! and the audio callback does nothing but convert samples and push them into the ring buffer.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};
use serde::Serialize;

use crate::listen::{self, InputFeed, InputFormat, LiveInput};

/// One device as `viva devices` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceInfo {
    /// What the system calls the device for people ("PulseAudio Sound Server").
    pub name: String,
    /// The host's own identifier (ALSA's PCM name, such as `pulse` or `hw:CARD=0,DEV=0`);
    /// `--device` accepts it as well as the name.
    pub id: Option<String>,
    pub direction: &'static str,
    pub default: bool,
    /// Native rate, channels and format, when the device reports them.
    pub config: Option<String>,
}

/// Every input and output device of the default host, defaults marked.
pub fn list() -> Vec<DeviceInfo> {
    let host = host();
    // By identifier: ALSA names its default device "Default Audio Device" on its own and
    // something else in the list, so names would never match.
    let default_in = host.default_input_device().and_then(|d| device_id(&d));
    let default_out = host.default_output_device().and_then(|d| device_id(&d));
    let mut devices = Vec::new();
    for (direction, found, default) in [
        ("input", host.input_devices(), default_in),
        ("output", host.output_devices(), default_out),
    ] {
        for device in found.into_iter().flatten() {
            let id = device_id(&device);
            let config = if direction == "input" {
                device.default_input_config()
            } else {
                device.default_output_config()
            };
            devices.push(DeviceInfo {
                name: device.to_string(),
                default: id.is_some() && id == default,
                id,
                direction,
                config: config.ok().map(|c| {
                    format!(
                        "{} Hz, {} ch, {}",
                        c.sample_rate(),
                        c.channels(),
                        c.sample_format()
                    )
                }),
            });
        }
    }
    devices
}

/// The default host, with the sound libraries' own error printing silenced first: viva
/// explains a missing device itself, in one line.
fn host() -> cpal::Host {
    crate::quiet::sound_libraries();
    cpal::default_host()
}

/// The name of the default output device, if there is one.
pub fn default_output_name() -> Option<String> {
    host().default_output_device().map(|d| d.to_string())
}

/// The host's identifier of a device, without the host's prefix.
fn device_id(device: &cpal::Device) -> Option<String> {
    device.id().ok().map(|id| id.id().to_owned())
}

/// Picks the name that matches `wanted`: exactly, then ignoring case, then as a substring.
pub fn match_name<'a>(wanted: &str, names: &'a [String]) -> Option<&'a str> {
    let lower = wanted.to_lowercase();
    names
        .iter()
        .find(|n| *n == wanted)
        .or_else(|| names.iter().find(|n| n.to_lowercase() == lower))
        .or_else(|| names.iter().find(|n| n.to_lowercase().contains(&lower)))
        .map(String::as_str)
}

/// Opens and closes the named (or default) microphone, so a drill fails before it starts
/// rather than at its first answer. ALSA, for one, names a default device that may not open.
pub fn check_input(name: Option<&str>) -> Result<()> {
    microphone(name).map(drop)
}

fn input_device(name: Option<&str>) -> Result<cpal::Device> {
    let host = host();
    let Some(wanted) = name else {
        return host.default_input_device().ok_or_else(|| {
            anyhow!(
                "no microphone found (no default input device); connect one, pick one with --device NAME (see `viva devices`), or answer from recordings with --input FILE"
            )
        });
    };
    let devices: Vec<cpal::Device> = host
        .input_devices()
        .map(|d| d.collect())
        .unwrap_or_default();
    let names: Vec<String> = devices.iter().map(|d| d.to_string()).collect();
    // An exact identifier (`pulse`, `hw:CARD=0,DEV=0`) wins; then the names, loosely.
    let index = devices
        .iter()
        .position(|d| device_id(d).as_deref() == Some(wanted))
        .or_else(|| {
            let chosen = match_name(wanted, &names)?;
            names.iter().position(|n| n == chosen)
        })
        .ok_or_else(|| {
            let known = if names.is_empty() {
                "there are none".to_owned()
            } else {
                names.join(", ")
            };
            anyhow!(
                "no input device matches `{wanted}`; input devices: {known} (see `viva devices`)"
            )
        })?;
    Ok(devices
        .into_iter()
        .nth(index)
        .expect("index from this list"))
}

/// Opens a microphone at its native format. The stream lives on its own thread until the
/// returned input is dropped. Fails, rather than hangs, when the device cannot be opened.
pub fn microphone(name: Option<&str>) -> Result<LiveInput> {
    let device = input_device(name)?;
    let device_name = device.to_string();
    let config = device
        .default_input_config()
        .map_err(|e| anyhow!("{device_name}: cannot open the microphone: {e}"))?;
    let format = InputFormat {
        sample_rate: config.sample_rate(),
        channels: config.channels(),
    };
    let (feed, into_input) = listen::channel(format);
    let (started_tx, started_rx) = mpsc::channel::<Result<()>>();
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicBool::new(false));
    let (stop_thread, failed_thread) = (stop.clone(), failed);
    let name = device_name.clone();
    let thread = std::thread::spawn(move || {
        let stream = match build_input(&device, &name, config, feed, failed_thread.clone())
            .and_then(|stream| {
                stream.play()?;
                Ok(stream)
            }) {
            Ok(stream) => stream,
            Err(e) => {
                let _ = started_tx.send(Err(e));
                return;
            }
        };
        let _ = started_tx.send(Ok(()));
        // A failed stream is dropped at once: ALSA keeps reporting its error until then.
        while !stop_thread.load(Ordering::Relaxed) && !failed_thread.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(stream);
    });
    let guard = StreamGuard {
        stop,
        thread: Some(thread),
    };
    match started_rx.recv() {
        Ok(Ok(())) => Ok(into_input(Box::new(guard))),
        Ok(Err(e)) => Err(e.context(format!("{device_name}: cannot open the microphone"))),
        Err(_) => bail!("{device_name}: the microphone thread stopped before it started"),
    }
}

/// Stops a stream-owning thread when dropped.
struct StreamGuard {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn build_input(
    device: &cpal::Device,
    name: &str,
    config: cpal::SupportedStreamConfig,
    feed: InputFeed,
    failed: Arc<AtomicBool>,
) -> Result<cpal::Stream> {
    let format = config.sample_format();
    let config: cpal::StreamConfig = config.into();
    let on_error = device_lost(name, feed.ender(), failed);
    Ok(match format {
        SampleFormat::I8 => input_stream::<i8>(device, config, feed, on_error)?,
        SampleFormat::I16 => input_stream::<i16>(device, config, feed, on_error)?,
        SampleFormat::I24 => input_stream::<cpal::I24>(device, config, feed, on_error)?,
        SampleFormat::I32 => input_stream::<i32>(device, config, feed, on_error)?,
        SampleFormat::U8 => input_stream::<u8>(device, config, feed, on_error)?,
        SampleFormat::U16 => input_stream::<u16>(device, config, feed, on_error)?,
        SampleFormat::U32 => input_stream::<u32>(device, config, feed, on_error)?,
        SampleFormat::F32 => input_stream::<f32>(device, config, feed, on_error)?,
        SampleFormat::F64 => input_stream::<f64>(device, config, feed, on_error)?,
        other => bail!("unsupported input sample format {other}"),
    })
}

/// The stream's error callback. An error on an input stream means the device is gone (pulled,
/// or its sound server stopped it): no sample will come again, so the answer ends here with
/// what was recorded, which is already on disk, and the round ends the session as interrupted.
/// Said once, though the host repeats it.
fn device_lost(
    name: &str,
    input: listen::InputEnder,
    failed: Arc<AtomicBool>,
) -> impl FnMut(cpal::Error) + Send + 'static {
    let name = name.to_owned();
    move |err| {
        if !failed.swap(true, Ordering::AcqRel) {
            eprintln!(
                "viva: the microphone ({name}) stopped: {err}; the answer ends here and what was said is kept; the session ends, marked interrupted"
            );
            input.finish();
        }
    }
}

fn input_stream<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut feed: InputFeed,
    on_error: impl FnMut(cpal::Error) + Send + 'static,
) -> Result<cpal::Stream>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let stream = device.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], _| {
            // Convert and hand off: no allocation, no lock.
            feed.push(data.iter().map(|&s| s.to_sample::<f32>()));
        },
        on_error,
        None,
    )?;
    Ok(stream)
}

/// Whether there is a device to play to.
pub fn has_output() -> bool {
    host().default_output_device().is_some()
}

/// Plays 16 kHz mono audio on the default output device and returns when it has finished.
/// Returns `Ok(false)` when there is no output device.
pub fn play(samples: &[f32], rate: u32) -> Result<bool> {
    let host = host();
    let Some(device) = host.default_output_device() else {
        return Ok(false);
    };
    let config = device
        .default_output_config()
        .with_context(|| format!("{device}: cannot read its output format"))?;
    if config.sample_format() != SampleFormat::F32 {
        bail!(
            "{device}: plays {} samples; viva plays f32 only",
            config.sample_format()
        );
    }
    let out_rate = config.sample_rate();
    let channels = config.channels() as usize;
    let audio = Arc::new(crate::audio::resample_to(samples, rate, out_rate)?);
    let position = Arc::new(AtomicUsize::new(0));
    let (audio_cb, position_cb) = (audio.clone(), position.clone());
    let stream = device.build_output_stream::<f32, _, _>(
        config.into(),
        move |out: &mut [f32], _| {
            let mut at = position_cb.load(Ordering::Relaxed);
            for frame in out.chunks_mut(channels) {
                let value = audio_cb.get(at).copied().unwrap_or(0.0);
                frame.fill(value);
                at += 1;
            }
            position_cb.store(at, Ordering::Relaxed);
        },
        // The host repeats a failing call's error on every period: said once.
        {
            let said = AtomicBool::new(false);
            move |err| {
                if !said.swap(true, Ordering::Relaxed) {
                    eprintln!("viva: speaker error: {err}");
                }
            }
        },
        None,
    )?;
    stream.play()?;
    let seconds = audio.len() as f64 / out_rate as f64;
    let deadline = std::time::Instant::now() + Duration::from_secs_f64(seconds + 2.0);
    while position.load(Ordering::Relaxed) < audio.len() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_match_exactly_then_by_case_then_by_substring() {
        let names: Vec<String> = ["USB Mic", "usb mic (2)", "Built-in Microphone"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(match_name("usb mic (2)", &names), Some("usb mic (2)"));
        assert_eq!(match_name("USB MIC", &names), Some("USB Mic"));
        assert_eq!(match_name("built-in", &names), Some("Built-in Microphone"));
        assert_eq!(match_name("headset", &names), None);
    }
}
