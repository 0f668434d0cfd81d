"""Regions of interest: masks on time frames and frequency bands (:mod:`.grids`), occlusion saliency
(:mod:`.saliency`), the best-mask search (:mod:`.search`) and the ROI summary (:mod:`.summary`)."""
