"""Image quality metrics: ``create_metric(name)``, ``list_metrics()``, and the functions behind them."""

from lowlight.metrics.functional import gt_mean_scale, psnr, ssim, ssim_skimage
from lowlight.metrics.registry import Metric, MetricInfo, create_metric, list_metrics, metric_info

__all__ = [
    "Metric",
    "MetricInfo",
    "create_metric",
    "gt_mean_scale",
    "list_metrics",
    "metric_info",
    "psnr",
    "ssim",
    "ssim_skimage",
]
