//! Whisper's mel filterbank, computed rather than copied: librosa's `filters.mel` with the
//! Slaney mel scale and Slaney area normalisation, for 16 kHz audio and a 400-sample FFT.
//!
//! whisper.cpp reads this table from the model file and uses it for every spectrogram, so it
//! must match what Whisper was trained with (OpenAI's `mel_filters.npz`, made by librosa).

/// Whisper's audio rate.
pub const SAMPLE_RATE: f64 = 16_000.0;
/// Whisper's FFT window: 25 ms at 16 kHz.
pub const N_FFT: usize = 400;
/// Frequency bins of a real FFT of [`N_FFT`] samples.
pub const N_BINS: usize = N_FFT / 2 + 1;

/// Below 1 kHz the Slaney scale is linear: 200/3 Hz per mel.
const LINEAR_HZ_PER_MEL: f64 = 200.0 / 3.0;
const LOG_START_HZ: f64 = 1000.0;
const LOG_START_MEL: f64 = LOG_START_HZ / LINEAR_HZ_PER_MEL;

/// Above 1 kHz it is logarithmic, 27 mels per factor of 6.4.
fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

pub fn hz_to_mel(hz: f64) -> f64 {
    if hz < LOG_START_HZ {
        hz / LINEAR_HZ_PER_MEL
    } else {
        LOG_START_MEL + (hz / LOG_START_HZ).ln() / log_step()
    }
}

pub fn mel_to_hz(mel: f64) -> f64 {
    if mel < LOG_START_MEL {
        mel * LINEAR_HZ_PER_MEL
    } else {
        LOG_START_HZ * ((mel - LOG_START_MEL) * log_step()).exp()
    }
}

/// `n_mels` triangular filters over [`N_BINS`] bins, row-major `[n_mels][N_BINS]`.
///
/// Filter `m` rises from edge `m` to edge `m + 1` and falls to edge `m + 2`, the edges being
/// `n_mels + 2` points evenly spaced in mels from 0 Hz to Nyquist; each is scaled by
/// `2 / (width in Hz)` so every filter has the same area. Computed in `f64` like librosa.
pub fn filters(n_mels: usize) -> Vec<f32> {
    let top = hz_to_mel(SAMPLE_RATE / 2.0);
    let edges: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(top * i as f64 / (n_mels + 1) as f64))
        .collect();
    let bin_hz = |bin: usize| bin as f64 * SAMPLE_RATE / N_FFT as f64;

    let mut table = vec![0.0f32; n_mels * N_BINS];
    for m in 0..n_mels {
        let (lo, mid, hi) = (edges[m], edges[m + 1], edges[m + 2]);
        let area_norm = 2.0 / (hi - lo);
        for bin in 0..N_BINS {
            let f = bin_hz(bin);
            let rising = (f - lo) / (mid - lo);
            let falling = (hi - f) / (hi - mid);
            let weight = rising.min(falling).max(0.0);
            table[m * N_BINS + bin] = (weight * area_norm) as f32;
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(table: &[f32], m: usize) -> &[f32] {
        &table[m * N_BINS..(m + 1) * N_BINS]
    }

    #[test]
    fn the_scale_is_linear_below_1khz_and_round_trips() {
        assert!((hz_to_mel(500.0) - 7.5).abs() < 1e-12);
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(6400.0) - 42.0).abs() < 1e-9);
        for hz in [0.0, 123.4, 999.0, 1000.0, 4321.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-6, "{hz}");
        }
    }

    #[test]
    fn filters_are_triangles_with_equal_area() {
        let table = filters(80);
        assert_eq!(table.len(), 80 * 201);
        let top = hz_to_mel(8000.0);
        for m in 0..80 {
            let weights = row(&table, m);
            assert!(weights.iter().all(|&w| w >= 0.0));
            // The peak sits at the bin nearest the filter's centre frequency.
            let centre = mel_to_hz(top * (m + 1) as f64 / 81.0);
            let peak = (0..N_BINS)
                .max_by(|&a, &b| weights[a].total_cmp(&weights[b]))
                .unwrap();
            let hz_per_bin = SAMPLE_RATE / N_FFT as f64;
            assert!(
                (peak as f64 * hz_per_bin - centre).abs() <= hz_per_bin,
                "filter {m}: peak bin {peak}, centre {centre} Hz"
            );
        }
        // Slaney normalisation: the continuous triangle of height 2/(hi-lo) has area 1; the
        // sampled sum times the bin width approaches it once filters span many bins.
        for m in 55..80 {
            let area: f64 = row(&table, m).iter().map(|&w| w as f64).sum::<f64>() * 40.0;
            assert!((area - 1.0).abs() < 0.02, "filter {m}: area {area}");
        }
    }

    #[test]
    fn matches_whisper_reference_values() {
        // Entries of the filter table in whisper.cpp's published ggml-tiny.en.bin (which
        // holds OpenAI's mel_filters.npz): every nonzero edge of a few filters.
        let table = filters(80);
        let expect = |m: usize, bin: usize, v: f32| {
            let got = table[m * N_BINS + bin];
            assert!((got - v).abs() < 1e-8, "[{m}][{bin}] = {got}, expected {v}");
        };
        for (m, bin, v) in [
            (0, 0, 0.0),
            (0, 1, 0.024_862_595),
            (0, 2, 0.0),
            (1, 1, 0.001_990_822),
            (1, 2, 0.022_871_772),
            (5, 5, 0.009_954_109),
            (20, 20, 0.013_890_394),
            (40, 42, 0.005_411_105),
            (40, 44, 0.006_518_19),
            (60, 90, 0.001_434_534_3),
            (79, 186, 0.000_366_741_67),
            (79, 199, 0.000_448_759),
            (79, 200, 0.0),
        ] {
            expect(m, bin, v);
        }
    }
}
