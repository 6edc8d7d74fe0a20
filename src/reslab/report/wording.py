"""Every word a report shows a reader, per language. Code elsewhere passes only keys and numbers.

Placeholders are str.format fields; every key, with the same fields, exists in every language
(tests/report/test_wording.py checks this). Figures are labelled in the report's language too
(FIGURE_WORDS; Chinese needs a CJK font, else figures fall back to English).
"""

from __future__ import annotations

from typing import Final, Literal

from reslab import reference
from reslab.errors import ReslabError

Language = Literal["en", "zh"]

EN: Final[dict[str, str]] = {
    # document
    "html_lang": "en",
    "doc_title": "Deep residual learning on {dataset}: do plain nets degrade with depth, and do shortcuts fix it?",
    "subtitle": "A reslab {version} report · results from {date}",
    "date_range": "{first} to {last}",
    "figure_label": "Figure {n}.",
    # introduction
    "h_intro": "Introduction",
    "intro_problem": (
        "He et al. (2015) found that stacking more layers onto a plain convolutional network can "
        "make it worse, and worse on the training set too, so the cause is not overfitting: they "
        "called it the degradation problem. Their remedy is the residual block, in which a few "
        "layers learn a residual F(x) that is added to an identity shortcut x."
    ),
    "intro_question": (
        "This report puts the same two questions to nets trained by reslab. Do deeper plain nets "
        "end with a higher training error than shallower ones? And do the same nets with shortcuts "
        "avoid it? Every number below is read from the stored results, and each conclusion follows "
        "from those numbers and their spread over seeds."
    ),
    "intro_studies_lead": "Studies in this report:",
    "intro_study_item": "{title} — {source}",
    "study_degradation": "Degradation: plain and residual nets of growing depth",
    "study_responses": "Layer responses (the paper's Fig. 7)",
    "study_gradients": "Gradient flow per layer",
    "study_table6": "CIFAR-10 Table 6 side by side",
    "study_unknown": "Study '{study}'",
    "unknown_study": "This version of the report cannot render study '{study}'; its results file is listed in the introduction.",
    # setup
    "h_setup": "Setup",
    "h_env": "Hardware and software",
    "h_dataset": "Dataset",
    "h_recipe": "Recipe: {title}",
    "col_item": "Item",
    "col_value": "Value",
    "env_cpu": "CPU",
    "env_cpu_count": "CPU cores",
    "env_cpu_kernels": "CPU kernels (one of the things that set the float rounding)",
    "env_torch_threads": "PyTorch threads (per net where nets train side by side)",
    "env_nets_at_once": "Nets trained at once, one process each",
    "env_cuda": "GPU",
    "env_cuda_none": "none (CPU only)",
    "env_platform": "Platform",
    "env_python": "Python",
    "env_torch": "PyTorch",
    "env_torchvision": "torchvision",
    "env_numpy": "NumPy",
    "env_reslab": "reslab",
    "ds_name": "Name",
    "ds_train": "Training images",
    "ds_val": "Validation images",
    "ds_test": "Test images",
    "ds_shape": "Image shape (C×H×W)",
    "ds_classes": "Classes",
    "applies_to_lead": "For:",
    "not_recorded": "Not recorded in the results.",
    "seeds_line": "Seeds: {seeds} ({n} in all).",
    "wall_line": "Wall time of the whole study: {wall}.",
    "recipe_lead": "Training recipe, as stored with the results:",
    "command_lead": "To re-run this study exactly:",
    "no_command": "The results do not record the command that produced them.",
    "unit_s": "{v:.1f} s",
    "unit_min": "{v:.1f} min",
    "unit_h": "{v:.2f} h",
    # results, shared
    "h_results": "Results",
    "h_verdict": "Verdict",
    "col_model": "Model",
    "col_kind": "Kind",
    "col_depth": "Depth",
    "col_params": "Params",
    "kind_plain": "plain",
    "kind_residual": "residual",
    "mean_std_explain": "Errors in percent, mean ± standard deviation over seeds; a lone number means a single seed.",
    "paper_claim_lead": "The paper:",
    "note_lead": "Note:",
    # degradation
    "deg_intro": (
        "Plain and residual nets of each depth were trained with one recipe. The table gives the "
        "error at the end of training, the mean over {n} seeds, next to the paper's CIFAR-10 "
        "test error for the residual nets."
    ),
    "deg_intro_one": (
        "Plain and residual nets of each depth were trained with one recipe. The table gives the "
        "error at the end of training (one seed), next to the paper's CIFAR-10 test error for the "
        "residual nets."
    ),
    "col_flops": "FLOPs",
    "col_final_train": "Final train error %",
    "col_final_test": "Final test error %",
    "col_best_test": "Test error % at best validation",
    "move_first": "{model} moves by {change} points",
    "move_more": "{model} by {change}",
    "list_sep": ", ",
    "n_batches_one": "1 batch",
    "n_batches": "{n} batches",
    "col_train_at": "Train error % at iteration {n} (running)",
    "col_test_at": "Test error % at iteration {n}",
    "deg_intro_truncated": (
        "Plain and residual nets of each depth were trained with one recipe: the first {n} "
        "iterations of the paper's {paper:,}. The table gives the error after iteration {n}, "
        "the mean over {seeds} seeds (the training error is the running error of the "
        "minibatches of the last {window} iterations), next to the paper's CIFAR-10 test error "
        "for the residual nets at the end of its schedule."
    ),
    "deg_intro_truncated_one": (
        "Plain and residual nets of each depth were trained with one recipe: the first {n} "
        "iterations of the paper's {paper:,}. The table gives the error after iteration {n}, "
        "one seed (the training error is the running error of the minibatches of the last "
        "{window} iterations), next to the paper's CIFAR-10 test error for the residual nets at "
        "the end of its schedule."
    ),
    "col_seeds": "Seeds",
    "col_paper_cifar": "Paper test error % (CIFAR-10)",
    "paper_context_note": (
        "The paper column holds the paper's own CIFAR-10 results, quoted for scale only: these "
        "runs used the {dataset} dataset and a shorter recipe, so the numbers are not expected "
        "to match."
    ),
    "paper_context_note_short": (
        "The paper column holds the paper's own CIFAR-10 results after its 64,000 iterations, "
        "quoted for scale only: these runs stopped after {n}, so the numbers are not expected "
        "to match."
    ),
    "paper_context_note_full": (
        "The paper column holds the paper's own CIFAR-10 results, from the schedule these runs "
        "followed (64,000 iterations): the two are comparable, within the spread over seeds."
    ),
    "degradation_claim": reference.DEGRADATION_CLAIM,
    "fig_train_error_curves": "Training error during training. Plain nets dashed, residual nets solid, one colour per depth; dotted verticals mark learning-rate drops; shading is ± one standard deviation over seeds.",
    "fig_test_error_curves": "Test error during training, drawn as in the previous figure.",
    "fig_error_vs_depth": "Final training (left) and test (right) error against depth; error bars are one standard deviation over seeds.",
    "verdict_deg_yes": "Degradation observed: the final training error of {deep} minus that of {shallow} is {gap} points, more than the {margin}-point margin the study used.",
    "verdict_deg_no": "Degradation not observed: the final training error of {deep} minus that of {shallow} is {gap} points, not more than the {margin}-point margin the study used.",
    "verdict_res_yes": "With shortcuts the deeper net does not degrade: the final training error of {deep} minus that of {shallow} is {gap} points (margin {margin} points).",
    "verdict_res_no": "With shortcuts the deeper net still degrades: the final training error of {deep} minus that of {shallow} is {gap} points (margin {margin} points).",
    "verdict_nothing_to_fix": "As the plain nets did not degrade at this scale, this run cannot show shortcuts fixing degradation.",
    "deg_test_compare": "Final test error: {plain_deep} {pd}% against {plain_shallow} {ps}%; {residual_deep} {rd}% against {residual_shallow} {rs}%.",
    "within_noise": "The gap between {deep} and {shallow} is no larger than its standard deviation over seeds, so it lies within run-to-run noise.",
    "single_seed_caveat": "Each model was trained with one seed only, so the spread between runs is unknown; read small gaps as noise.",
    "no_verdict": "The results store no verdict; compare the final training errors in the table.",
    # responses
    "resp_intro": "The standard deviation of each 3×3 layer's response (after batch norm, before the addition and the ReLU), measured on held-out images.",
    "col_layers_3x3": "3×3 layers",
    "col_mean_std": "Mean response std",
    "col_max_std": "Largest",
    "col_min_std": "Smallest",
    "figure7_claim": reference.FIGURE7_CLAIM,
    "fig_responses": "Response standard deviation of each 3×3 layer: left in the net's order, right sorted from largest to smallest (compare the paper's Fig. 7). Plain dashed, residual solid.",
    "resp_res_smaller": "At depth {depth} the residual layers respond more weakly than the plain ones (mean std {res} against {plain}), as the paper reports.",
    "resp_res_not_smaller": "At depth {depth} the residual layers do not respond more weakly than the plain ones (mean std {res} against {plain}); the paper's observation is not observed here.",
    "resp_deeper_smaller": "Deeper residual nets respond more weakly ({chain}), as the paper reports.",
    "resp_deeper_not_smaller": "Deeper residual nets do not respond consistently more weakly ({chain}); the paper's observation is not observed here.",
    # gradients
    "grad_trend_explode": "growing towards the input: exploding gradients",
    "grad_trend_vanish": "shrinking towards the input: vanishing gradients",
    # table 6
    "t6_intro": "The paper's Table 6 (CIFAR-10 test error) next to a public PyTorch reproduction and what reslab measured for the same models.",
    "col_paper_error": "Paper error %",
    "col_repro_error": "PyTorch reproduction error %",
    "col_measured": "reslab error %",
    "col_status": "Status",
    "status_measured": "measured",
    "status_not_run": "not run",
    "t6_measured_line": "{model}: reslab measured {measured}% test error against the paper's {paper}% ({diff} points).",
    "t6_none_measured": "No Table 6 model was trained for this report; the table shows the published numbers only.",
    # confusion matrix (optional in any study)
    "fig_confusion": "Confusion matrix of {model} on the test set: rows are true classes, columns predicted ones.",
    # conclusions
    "h_conclusions": "Conclusions",
    "no_findings": "The stored results hold nothing to conclude from.",
    "conclusion_scope": "These conclusions hold for the {dataset} dataset, the recipe and the seeds listed under Setup; a different scale may give a different answer.",
    "h_verdicts": "Verdicts",
    "h_models": "The nets: size and cost",
    "ratio_range": "{value} at the study's seed ({low} to {high} over {n} initialisations)",
    "h_background": "Background",
    "h_appendix": "Appendix: setup and recipes",
    "appendix_summary": "Hardware, software, dataset, the full training recipe and the command to re-run each study",
    "col_claim": "Claim",
    "col_measured_gap": "Measured gap (points)",
    "col_threshold": "Threshold (points)",
    "col_verdict": "Verdict",
    "status_observed": "observed",
    "status_not observed": "not observed",
    "status_cannot be judged": "cannot be judged here",
    "status_reason": "{status}: {reason}",
    "gap_of": "{deep} vs {shallow}: {gap}",
    "claim_residual_below_plain": "The deeper ResNet trains below the deeper plain net throughout ({deep} vs {shallow})",
    "threshold_worse_curve": "higher by more than {margin} at every point",
    "threshold_lower_curve": "lower by more than {margin} at every point",
    "gap_not_judged": "{gap} (the last log point; not judged)",
    "reason_fix_truncated": "it needs the deeper ResNet no worse than the shallower, a claim about the end of training",
    "verdict_rule_curve": "How the verdicts are reached. These runs are the first iterations of the paper's schedule, so the two claims Figure 6 makes about the whole of training are judged on the training curve: the deepest plain net against the shallowest, and the deepest ResNet against the deepest plain net, on the running training error (%) of the augmented minibatches at every log point in the second half of the run. At each point the gap is the deeper net's mean over seeds minus the other's; ± is its standard error, √(s₁²/n₁ + s₂²/n₂); the band is Welch's two-sided {confidence}% t-interval, t being Student's t quantile at the Welch–Satterthwaite degrees of freedom (df, shown with each band). A claim is observed when at every point the whole band passes the threshold, not observed when at some point the whole band fails it, and cannot be judged otherwise; the numbers shown are those of the weakest point. Gaps within {margin} points count as no difference. A claim cannot be judged with fewer than {min_seeds} seeds. The claims about the end of training (the deeper ResNet no worse than the shallower, or lower, and so \"shortcuts remove the degradation\") are not judged from these runs.",
    "claim_degradation": "The deeper plain net trains worse ({deep} vs {shallow})",
    "claim_residual_no_worse": "The deeper ResNet trains no worse ({deep} vs {shallow})",
    "claim_residual_lower": "The deeper ResNet reaches a lower error, as the paper states ({deep} vs {shallow})",
    "claim_shortcuts_fix": "Shortcuts remove the degradation ({deep} vs {shallow} and vs {deep_plain})",
    "threshold_worse": "higher by more than {margin}",
    "threshold_no_worse": "not higher by more than {margin}",
    "threshold_lower": "lower by more than {margin}",
    "threshold_fix": "needs: the first claim observed, the second observed, and {deep} lower than {deep_plain} by more than {margin}",
    "gap_band_z": "{gap} ± {se} (band {low} to {high})",
    "gap_only": "{gap}",
    "reason_not_converged": "the run is too short to converge: {shallow} ends at {value}% training error, above the {limit}% the rule requires",
    "reason_one_seed": "one seed only, so there is no spread to judge with",
    "reason_short_run": "the runs were shortened below the study's recipe, too short for the deep nets to converge",
    "reason_truncated": "it is about the end of training, and these runs are the first iterations of the paper's schedule",
    "reason_floor": "{shallow} already ends at {value}% training error, which leaves no room for a lower error by more than {margin} points",
    "reason_spread": "the seeds disagree too much: the band {low} to {high} straddles the threshold",
    "reason_missing": "a number is missing from the results",
    "reason_nothing_to_fix": "the plain nets did not degrade, so there is nothing to fix",
    "reason_degradation_unjudged": "the degradation itself cannot be judged",
    "reason_residual_cannot_be_judged": "a comparison it needs cannot be judged",
    "verdict_line": "{claim}: {status}.",
    "verdict_line_reason": "{claim}: {status}, because {reason}.",
    "verdict_rule_z": "How the verdicts are reached. Each claim compares final training errors (%, every training image scored at the end of the run), as the paper's degradation argument does. The gap is the deeper net's mean over seeds minus the shallower net's; ± is the gap's standard error, √(s₁²/n₁ + s₂²/n₂); the band is the gap ± {z} standard errors. A claim is observed when the whole band passes the threshold, not observed when the whole band fails it, and cannot be judged here otherwise: more spread between seeds widens the band, so it never makes a claim easier to pass. Gaps within {margin} points count as no difference. A claim also cannot be judged with fewer than {min_seeds} seeds, or when the shallower net ends above {converged}% training error (the run was too short to converge).",
    "warmup_note": "Every net here, plain and residual, starts at learning rate {lr} until its training error falls below {until}%, then uses the recipe's rate. The paper used this warm-up for ResNet-110 only; this study applies it to all nets so that they share one recipe, because at 0.1 from the first step the deep nets often fail to start on this small dataset.",
    "warmup_linear_note": (
        "Every net here, plain and residual, ramps its learning rate linearly from 0 to {lr} "
        "over the first {n} iterations ({share}% of the run). This is not the paper's recipe, "
        "which warms up only ResNet-110 (at 0.01 until its training error is below 80%), and "
        "the verdicts about ResNets depend on it. Measured on digits (400 iterations, seeds 0 "
        "to 2): without the ramp, plain-56 still degrades (56-73% final training error) but "
        "ResNet-56 does not converge at 0.1 either (21-64%; 15-74% at 300 or 500 iterations), "
        "so no claim about ResNets could be observed; with it (500 iterations, seeds 0 to 9), "
        "ResNet-56 ends at or below 0.14% in 9 seeds and at 3.69% in one. That 0.1 is too large for a deep net to start converging is the paper's own "
        "reason for warming up ResNet-110."
    ),
    "gradients_paper_lead": "The paper, section 4.1, on its plain nets:",
    "gradients_paper_quote": "“We also verify that the backward propagated gradients exhibit healthy norms with BN.”",
    "responses_not_meaningful": "Not judged here. Figure 7's comparison is about trained nets: the paper's nets were trained for 64k iterations. These nets trained for {iterations} iterations on a small dataset, and their batch-norm scales are still close to their initial value of 1 (mean |γ| {gamma}), so their responses mostly show the initialisation; a verdict would not test the paper's claim.",
    "responses_short_note": "Not judged here: Figure 7 is about fully trained nets, and these nets trained for only {iterations} iterations, so their responses mostly reflect the initialisation.",
    "fig_train_error_curves_seeds": "Training error during training (the shape of the paper's Fig. 6). Plain nets dashed, residual nets solid, one colour per depth; dotted verticals mark the learning-rate drops; the line is the mean over {n} seeds and the shading ± one standard deviation.",
    "fig_train_error_curves_one": "Training error during training (the shape of the paper's Fig. 6). Plain nets dashed, residual nets solid, one colour per depth; dotted verticals mark the learning-rate drops. One seed per net.",
    "fig_error_vs_depth_seeds": "Final training (left) and test (right) error against depth; plain dashed with hollow markers just left of its depth, residual solid just right, each depth in its colour; error bars are one standard deviation over {n} seeds.",
    "fig_error_vs_depth_at_seeds": "Training (left: the running error of the last {window} iterations) and test (right) error at iteration {it} against depth; plain dashed with hollow markers just left of its depth, residual solid just right, each depth in its colour; error bars are one standard deviation over {n} seeds.",
    "fig_error_vs_depth_at_one": "Training (left: the running error of the last {window} iterations) and test (right) error at iteration {it} against depth; plain dashed with hollow markers just left of its depth, residual solid just right, each depth in its colour. One seed per net.",
    "fig_running_curves_seeds": "Running training error of the augmented minibatches over each {window}-iteration window (the shape of the paper's Fig. 6). Plain nets dashed, residual nets solid, one colour per depth; the line is the mean over {n} seeds and the shading ± one standard deviation.",
    "fig_running_curves_one": "Running training error of the augmented minibatches over each {window}-iteration window (the shape of the paper's Fig. 6). Plain nets dashed, residual nets solid, one colour per depth. One seed per net.",
    "fig_judged_span": " The grey band is the second half of the run, where the claims about the whole of training are judged.",
    "fig_error_vs_depth_one": "Final training (left) and test (right) error against depth; plain dashed with hollow markers just left of its depth, residual solid just right, each depth in its colour. One seed per net.",
    "scope_note": "These verdicts hold for the {dataset} dataset, the recipe and the seeds in the appendix; a different scale may give a different answer.",
    "gap_band": "{gap} ± {se} ({confidence}% band {low} to {high}; Welch t, df {df})",
    "curve_weakest": "; the weakest of {k} points on the curve, at iteration {step}",
    "truncated_note": "These nets ran the first {n} of the paper's {paper:,} iterations exactly as the paper trains them (learning rate 0.1: its drops come later; no warm-up). Their training curves are the running error of the augmented minibatches over each {window}-iteration window, as the paper's curves are drawn, not a separate pass over the training set; the test error is measured once, at the end. Figure 6's claims about the whole of training (the deeper plain net above the shallower; the deeper ResNet below the deeper plain net) are judged at each of the log points in the second half of the run, and must hold at every one of them. The claims about the end of training cannot be judged from the first {n} iterations.",
    "verdict_rule": "How the verdicts are reached. Each claim compares final training errors (%, every training image scored at the end of the run), as the paper's degradation argument does. The gap is the deeper net's mean over seeds minus the shallower net's; ± is the gap's standard error, √(s₁²/n₁ + s₂²/n₂). The band is Welch's two-sided {confidence}% t-interval: the gap ± t standard errors, t being Student's t quantile at the Welch–Satterthwaite degrees of freedom (df, shown with each band; with 3 seeds the df is 2 to 4 and t is 4.30 to 2.78, not the 1.96 of a known variance). A claim is observed when the whole band passes the threshold, not observed when the whole band fails it, and cannot be judged here otherwise: more spread between seeds widens the band, so it never makes a claim easier to pass. Gaps within {margin} points count as no difference. A claim also cannot be judged with fewer than {min_seeds} seeds, or when the shallower net ends above {converged}% training error (the run was too short to converge).",
    "grad_old_metric": "These gradient results were stored by an earlier reslab, which compared the stem's raw gradient norm with the classifier's (layers of different kinds and sizes); they are not shown. Run `reslab study gradients` again for the per-layer relative gradients.",
    "grad_intro3": "For each conv layer on the main path, |∇W| / |W|: a conv followed by batch norm computes the same function at any scale of its weights, so an SGD step only turns W, by lr·|∇W|/|W| radians. This relative gradient is how fast the layer learns, comparable between the stem and the last conv (the classifier, no conv, is left out). Measured on {batches} of training images at initialisation, after the first {steps} SGD steps (lr {lr}, momentum 0.9, no warm-up) and, for the nets of the degradation study, after training. The table gives the first conv (the stem) over the last conv: 1 is even; far above 1, gradients grow towards the input.",
    "col_conv_layers": "Conv layers",
    "col_ratio_init": "First / last conv, at initialisation",
    "col_ratio_steps": "After SGD step {n}",
    "col_ratio_trained": "After training",
    "fig_relative_gradients": "Relative gradient |∇W| / |W| of each conv layer on the main path against its position (1 = the stem; log scale), at initialisation, after the first SGD steps and after training. Plain dashed, residual solid, one colour per depth.",
    "grad_uneven3": "At initialisation, at depth {depth}, the plain net's first conv learns {plain_ratio} times as fast as its last ({trend}), the residual net's {res_ratio} times: shortcuts keep the layers far closer to even.",
    "grad_not_uneven3": "At initialisation, at depth {depth}, the plain net's layers are not clearly more uneven than the residual net's: first/last conv {plain_ratio} against {res_ratio}, and the plain net's most even initialisation is less than twice as uneven (its ratio's distance from 1, as a factor) as the residual net's least even one.",
    "grad_uneven_below2": "At initialisation, at depth {depth}, the plain net's layers are more uneven than the residual net's in every initialisation measured, but by less than the factor of 2 this finding asks for: first/last conv {plain_ratio} against {res_ratio} (distance from 1, as a factor, of the plain net's most even initialisation over the residual net's least even one: {factor}).",
    "grad_growth": "With depth, at initialisation, the plain nets' first/last ratio {plain_how}; the residual nets' {res_how}.",
    "growth_one": "changes by a factor of {factor} per added layer ({chain})",
    "growth_geometric": "grows geometrically, by a factor of about {factor} per added layer at each step in depth ({chain})",
    "growth_uneven": "changes by a factor of {factors} per added layer from one depth to the next, not at a constant rate ({chain})",
    "growth_then": ", then ",
    "grad_after_steps": "After SGD step {n} from that initialisation, the plain nets' first/last ratio is {chain}: in the deep plain nets the first steps do not even the layers out but invert them: the early layers' weights grow so much that they then learn far more slowly than the last.",
    "gradients_measured2": "Measured here at initialisation, the plain BN nets' gradients grow towards the input: the first conv's relative gradient over the last conv's is {ratios}; the residual nets' stays far closer to even ({res_ratios}). Yang et al. (2019, “A Mean Field Theory of Batch Normalization”, ICLR) predict this: at initialisation, batch norm itself makes gradients grow geometrically with depth in nets without skip connections, and the first optimisation steps collapse that spread. The paper's sentence is about its nets during training; at initialisation the plain nets' gradients are not healthy.",
    "warmup_paper_note": "As in the paper, only the nets of 110 layers or more (plain twins included) warm up: learning rate {lr} until the training error is below {until}%, then the recipe's rate; the others start at the recipe's rate.",
    "plateau_held": "The schedule is checked against the plateau rule stated with the recipe: every net reaches its plateau (its training error, averaged over seeds, moves by less than {limit} points over the final quarter of the schedule), and the shallowest plain net and every ResNet end below {converged}% training error in every seed. Here it holds: the largest move is {change} points ({model}); the worst final error of those nets is {worst}% ({worst_model}).",
    "plateau_not_flat": "The schedule is checked against the plateau rule stated with the recipe: every net reaches its plateau (its training error, averaged over seeds, moves by less than {limit} points over the final quarter of the schedule). Here it does not hold: {moves} over the final quarter (max - min of the seed mean), so the final number of that net is not settled to within the limit: read the verdicts that use it with its move in mind.",
    "plateau_not_converged": "The schedule is checked against the plateau rule stated with the recipe: the shallowest plain net and every ResNet end below {converged}% training error in every seed. Here it does not hold: {worst_model} ends at {worst}% in one seed, so this run is too short to say anything about depth.",
    # the terminal's summary of a degradation study (reslab study degradation, reslab demo)
    "demo_step_degradation": "[1/{steps}] degradation study: plain and residual nets of depth {depths} on digits, seeds {seeds}",
    "demo_step_gradients": "[2/{steps}] gradient flow at initialisation, after the first steps and after training",
    "demo_step_responses": "[3/{steps}] layer responses of the trained nets",
    "demo_step_report": "[4/{steps}] report",
    "demo_finished": "demo finished in {total}s ({phases})",
    "demo_phase": "{name} {seconds}s",
    "demo_phase_training": "training",
    "demo_phase_gradients": "gradients",
    "demo_phase_responses": "responses",
    "demo_phase_report": "report",
    "demo_and": " and ",
    "term_header_final": "final training error (whole training set) / test error % (mean ± std over seeds):",
    "term_header_running": "running training error (the last minibatches) / test error % at iteration {step} (mean ± std over seeds):",
    "term_verdicts": "verdicts (gap = the first net's error - the second's, in points; observed when its whole Welch t {confidence}% band passes the claim's threshold, not observed when it wholly fails it):",
    "term_gap": "gap {gap}, band {low} to {high}: gap ± {t} × standard error {se}, df {df}",
    "term_weakest": "at iteration {step}, the weakest of {k} points",
    "term_vs": "{deep} vs {shallow}: {detail}",
    "term_plateau": "plateau rule (reslab.studies.degradation.PLATEAU_RULE): {status}; largest move of a net's training error, averaged over seeds, over the last quarter {move} points ({net}, limit {limit} points)",
    "term_plateau_converged": "; worst final training error of the nets that must converge {worst}% ({net}, limit {limit}%)",
    "term_holds": "holds",
    "term_threshold": "threshold: {threshold}",
    "term_spread": "the seeds disagree too much",
    "term_claim": "{claim}: {status}",
    "term_claim_said": "{claim}: {status} ({said})",
    "term_and": "; ",
    "term_comma": ", ",
    "term_gap_only": "gap {gap}",
    "term_fails": "does not hold",
}

ZH: Final[dict[str, str]] = {
    "html_lang": "zh-CN",
    "doc_title": "{dataset} 上的深度残差学习：普通网络会随深度退化吗？捷径连接能解决吗？",
    "subtitle": "reslab {version} 报告 · 结果日期 {date}",
    "date_range": "{first} 至 {last}",
    "figure_label": "图 {n}.",
    "h_intro": "引言",
    "intro_problem": (
        "He 等人（2015）发现，给普通卷积网络堆叠更多层反而可能让它变差，而且在训练集上也变差，"
        "因此原因不是过拟合：他们称之为退化问题。他们的解决办法是残差块：几层网络学习一个残差 F(x)，"
        "再与恒等捷径 x 相加。"
    ),
    "intro_question": (
        "本报告对 reslab 训练的网络提出同样的两个问题：更深的普通网络最终的训练误差是否高于较浅的？"
        "加上捷径连接的同样网络能否避免这一点？下文每个数字都读自保存的结果，"
        "每条结论都来自这些数字及其在各随机种子间的离散程度。"
    ),
    "intro_studies_lead": "本报告包含的实验：",
    "intro_study_item": "{title} — {source}",
    "study_degradation": "退化：深度递增的普通网络与残差网络",
    "study_responses": "层响应（论文图 7）",
    "study_gradients": "各层梯度流",
    "study_table6": "CIFAR-10 表 6 对照",
    "study_unknown": "实验“{study}”",
    "unknown_study": "此版本的报告无法呈现实验“{study}”；其结果文件已列于引言中。",
    "h_setup": "实验设置",
    "h_env": "硬件与软件",
    "h_dataset": "数据集",
    "h_recipe": "训练方案：{title}",
    "col_item": "项目",
    "col_value": "值",
    "env_cpu": "CPU",
    "env_cpu_count": "CPU 核数",
    "env_cpu_kernels": "CPU 内核指令集（影响浮点舍入的因素之一）",
    "env_torch_threads": "PyTorch 线程数（多个网络并行训练时为每个网络的线程数）",
    "env_nets_at_once": "同时训练的网络数（每个一个进程）",
    "env_cuda": "GPU",
    "env_cuda_none": "无（仅 CPU）",
    "env_platform": "平台",
    "env_python": "Python",
    "env_torch": "PyTorch",
    "env_torchvision": "torchvision",
    "env_numpy": "NumPy",
    "env_reslab": "reslab",
    "ds_name": "名称",
    "ds_train": "训练图像",
    "ds_val": "验证图像",
    "ds_test": "测试图像",
    "ds_shape": "图像形状（C×H×W）",
    "ds_classes": "类别数",
    "applies_to_lead": "适用于：",
    "not_recorded": "结果中未记录。",
    "seeds_line": "随机种子：{seeds}（共 {n} 个）。",
    "wall_line": "整个实验耗时：{wall}。",
    "recipe_lead": "训练方案（与结果一同保存）：",
    "command_lead": "精确重跑此实验的命令：",
    "no_command": "结果中没有记录生成它们的命令。",
    "unit_s": "{v:.1f} 秒",
    "unit_min": "{v:.1f} 分钟",
    "unit_h": "{v:.2f} 小时",
    "h_results": "结果",
    "h_verdict": "结论判定",
    "col_model": "模型",
    "col_kind": "类型",
    "col_depth": "深度",
    "col_params": "参数量",
    "kind_plain": "普通",
    "kind_residual": "残差",
    "mean_std_explain": "误差单位为百分比，取各随机种子的均值 ± 标准差；只有一个数字表示仅一个种子。",
    "paper_claim_lead": "论文：",
    "note_lead": "说明：",
    "deg_intro": (
        "每种深度的普通网络和残差网络都用同一训练方案训练。表中给出训练结束时的误差"
        "（{n} 个种子），并在旁边列出论文中残差网络在 CIFAR-10 上的测试误差。"
    ),
    "deg_intro_one": (
        "每种深度的普通网络和残差网络都用同一训练方案训练。表中给出训练结束时的误差"
        "（1 个种子），并在旁边列出论文中残差网络在 CIFAR-10 上的测试误差。"
    ),
    "col_flops": "FLOPs",
    "col_final_train": "最终训练误差 %",
    "col_final_test": "最终测试误差 %",
    "col_best_test": "最佳验证点的测试误差 %",
    "move_first": "{model} 变化了 {change} 个百分点",
    "move_more": "{model} 变化了 {change} 个百分点",
    "list_sep": "，",
    "n_batches_one": "1 个",
    "n_batches": "{n} 个",
    "col_train_at": "第 {n} 次迭代时的训练误差 %（滑动）",
    "col_test_at": "第 {n} 次迭代时的测试误差 %",
    "deg_intro_truncated": (
        "每种深度的普通网络和残差网络都用同一训练方案训练：论文 {paper:,} 次迭代中的前 {n} 次。"
        "表中给出第 {n} 次迭代后的误差（{seeds} 个种子的均值；训练误差是最后 {window} 次迭代的"
        "小批量滑动误差），并在旁边列出论文中残差网络在其训练方案结束时的 CIFAR-10 测试误差。"
    ),
    "deg_intro_truncated_one": (
        "每种深度的普通网络和残差网络都用同一训练方案训练：论文 {paper:,} 次迭代中的前 {n} 次。"
        "表中给出第 {n} 次迭代后的误差（1 个种子；训练误差是最后 {window} 次迭代的"
        "小批量滑动误差），并在旁边列出论文中残差网络在其训练方案结束时的 CIFAR-10 测试误差。"
    ),
    "col_seeds": "种子数",
    "col_paper_cifar": "论文测试误差 %（CIFAR-10）",
    "paper_context_note": (
        "论文一栏是论文自己在 CIFAR-10 上的结果，仅作量级参考：这些运行使用的是 {dataset} "
        "数据集和更短的训练方案，因此数字不应相同。"
    ),
    "paper_context_note_short": (
        "论文一栏是论文自己在 CIFAR-10 上训练 64,000 次迭代后的结果，仅作量级参考：这些运行"
        "在第 {n} 次迭代后停止，因此数字不应相同。"
    ),
    "paper_context_note_full": (
        "论文一栏是论文自己在 CIFAR-10 上的结果，与这些运行的训练方案相同（64,000 次迭代）："
        "两者可以比较，差异应在各种子的离散范围之内。"
    ),
    "degradation_claim": (
        "更深的普通网络比较浅的网络有更高的训练误差和测试误差（plain-56 比 plain-20 差，"
        "plain-110 的误差始终高于 60%）：这就是退化问题。加上恒等捷径后，更深的 ResNet "
        "达到更低的误差（He 等人 2015，图 6）。"
    ),
    "fig_train_error_curves": "训练过程中的训练误差。普通网络为虚线，残差网络为实线，每种深度一种颜色；点状竖线标出学习率下降处；阴影为各种子间 ± 一个标准差。",
    "fig_test_error_curves": "训练过程中的测试误差，画法同上图。",
    "fig_error_vs_depth": "最终训练误差（左）和测试误差（右）随深度的变化；误差棒为各种子间的一个标准差。",
    "verdict_deg_yes": "观察到退化：{deep} 的最终训练误差减去 {shallow} 的为 {gap} 个百分点，超过实验所用的 {margin} 个百分点阈值。",
    "verdict_deg_no": "未观察到退化：{deep} 的最终训练误差减去 {shallow} 的为 {gap} 个百分点，未超过实验所用的 {margin} 个百分点阈值。",
    "verdict_res_yes": "加上捷径后更深的网络没有退化：{deep} 的最终训练误差减去 {shallow} 的为 {gap} 个百分点（阈值 {margin} 个百分点）。",
    "verdict_res_no": "加上捷径后更深的网络仍然退化：{deep} 的最终训练误差减去 {shallow} 的为 {gap} 个百分点（阈值 {margin} 个百分点）。",
    "verdict_nothing_to_fix": "由于普通网络在此规模下没有退化，这次运行无法说明捷径连接解决了退化。",
    "deg_test_compare": "最终测试误差：{plain_deep} 为 {pd}%，{plain_shallow} 为 {ps}%；{residual_deep} 为 {rd}%，{residual_shallow} 为 {rs}%。",
    "within_noise": "{deep} 与 {shallow} 之间的差距不大于其在各种子间的标准差，属于运行间的随机波动。",
    "single_seed_caveat": "每个模型只用一个种子训练，运行间的离散程度未知；较小的差距应视为噪声。",
    "no_verdict": "结果中没有保存判定；请比较表中的最终训练误差。",
    "resp_intro": "每个 3×3 层响应（批归一化之后、相加与 ReLU 之前）的标准差，在留出图像上测得。",
    "col_layers_3x3": "3×3 层数",
    "col_mean_std": "平均响应标准差",
    "col_max_std": "最大",
    "col_min_std": "最小",
    "figure7_claim": "残差函数的响应通常比普通网络的小，且越深的 ResNet 响应越小（论文图 7）。",
    "fig_responses": "每个 3×3 层响应的标准差：左图按网络中的顺序，右图按大小从大到小排序（对照论文图 7）。普通为虚线，残差为实线。",
    "resp_res_smaller": "深度 {depth} 时，残差层的响应弱于普通层（平均标准差 {res} 对 {plain}），与论文一致。",
    "resp_res_not_smaller": "深度 {depth} 时，残差层的响应并不弱于普通层（平均标准差 {res} 对 {plain}）；此处未观察到论文的现象。",
    "resp_deeper_smaller": "更深的残差网络响应更弱（{chain}），与论文一致。",
    "resp_deeper_not_smaller": "更深的残差网络的响应并非一致地更弱（{chain}）；此处未观察到论文的现象。",
    "grad_trend_explode": "向输入端增大：梯度爆炸",
    "grad_trend_vanish": "向输入端减小：梯度消失",
    "t6_intro": "论文表 6（CIFAR-10 测试误差），与一个公开的 PyTorch 复现以及 reslab 对同样模型的测量结果并列。",
    "col_paper_error": "论文误差 %",
    "col_repro_error": "PyTorch 复现误差 %",
    "col_measured": "reslab 误差 %",
    "col_status": "状态",
    "status_measured": "已测量",
    "status_not_run": "未运行",
    "t6_measured_line": "{model}：reslab 测得测试误差 {measured}%，论文为 {paper}%（相差 {diff} 个百分点）。",
    "t6_none_measured": "本报告没有训练表 6 中的任何模型；表中只列出已发表的数字。",
    "fig_confusion": "{model} 在测试集上的混淆矩阵：行为真实类别，列为预测类别。",
    "h_conclusions": "结论",
    "no_findings": "保存的结果中没有可以得出结论的内容。",
    "conclusion_scope": "这些结论仅适用于 {dataset} 数据集以及“实验设置”中列出的训练方案和种子；换一个规模可能得到不同的答案。",
    "h_verdicts": "结论判定",
    "h_models": "网络：规模与计算量",
    "ratio_range": "{value}，取自实验的种子（{n} 次初始化中为 {low} 至 {high}）",
    "h_background": "背景",
    "h_appendix": "附录：实验设置与训练方案",
    "appendix_summary": "硬件、软件、数据集、完整训练方案以及重跑每个实验的命令",
    "col_claim": "论断",
    "col_measured_gap": "测得差距（百分点）",
    "col_threshold": "阈值（百分点）",
    "col_verdict": "判定",
    "status_observed": "观察到",
    "status_not observed": "未观察到",
    "status_cannot be judged": "此处无法判断",
    "status_reason": "{status}：{reason}",
    "gap_of": "{deep} 对 {shallow}：{gap}",
    "claim_residual_below_plain": "更深的 ResNet 在整个训练过程中低于更深的普通网络（{deep} 对 {shallow}）",
    "threshold_worse_curve": "在每个点上都高出超过 {margin}",
    "threshold_lower_curve": "在每个点上都低出超过 {margin}",
    "gap_not_judged": "{gap}（最后一个记录点；不作判断）",
    "reason_fix_truncated": "它需要更深的 ResNet 不比较浅的更差，而这是关于训练结束时的论断",
    "verdict_rule_curve": "判定方法。这些训练是论文训练方案的最初若干次迭代，因此图 6 关于整个训练过程的两条论断在训练曲线上判断：最深的普通网络对最浅的普通网络，以及最深的 ResNet 对最深的普通网络，比较的是训练后半段每个记录点上经过增强的小批量的滑动训练误差（%）。在每个点上，差距为较深网络各种子均值减去另一网络的均值；± 为其标准误 √(s₁²/n₁ + s₂²/n₂)；区间为 Welch 双侧 {confidence}% t 区间，t 为 Student t 分布在 Welch–Satterthwaite 自由度下的分位数（自由度随每个区间给出）。在每个点上整个区间都满足阈值时判为观察到，在某个点上整个区间都不满足时判为未观察到，否则判为无法判断；显示的数字是最弱的那个点的。{margin} 个百分点以内的差距视为没有差别。种子少于 {min_seeds} 个时无法判断。关于训练结束时的论断（更深的 ResNet 不比较浅的更差或更低，以及由此得出的“捷径连接消除了退化”）不从这些训练中判断。",
    "claim_degradation": "更深的普通网络训练得更差（{deep} 对 {shallow}）",
    "claim_residual_no_worse": "更深的 ResNet 训练得不更差（{deep} 对 {shallow}）",
    "claim_residual_lower": "更深的 ResNet 达到更低的误差，如论文所述（{deep} 对 {shallow}）",
    "claim_shortcuts_fix": "捷径连接消除了退化（{deep} 对 {shallow}，以及对 {deep_plain}）",
    "threshold_worse": "高出超过 {margin}",
    "threshold_no_worse": "高出不超过 {margin}",
    "threshold_lower": "低出超过 {margin}",
    "threshold_fix": "需要：第一条观察到，第二条观察到，且 {deep} 比 {deep_plain} 低出超过 {margin}",
    "gap_band_z": "{gap} ± {se}（区间 {low} 至 {high}）",
    "gap_only": "{gap}",
    "reason_not_converged": "训练太短，尚未收敛：{shallow} 最终训练误差为 {value}%，高于规则要求的 {limit}%",
    "reason_one_seed": "只有一个种子，没有可用于判断的离散程度",
    "reason_short_run": "训练被缩短到低于实验方案的长度，深层网络来不及收敛",
    "reason_truncated": "它关于训练结束时的结果，而这些训练只是论文训练方案的最初若干次迭代",
    "reason_floor": "{shallow} 的最终训练误差已为 {value}%，没有空间再低出 {margin} 个百分点以上",
    "reason_spread": "各种子结果差异太大：区间 {low} 至 {high} 跨越了阈值",
    "reason_missing": "结果中缺少某个数字",
    "reason_nothing_to_fix": "普通网络没有退化，因此没有需要消除的退化",
    "reason_degradation_unjudged": "退化本身无法判断",
    "reason_residual_cannot_be_judged": "它所依赖的某项比较无法判断",
    "verdict_line": "{claim}：{status}。",
    "verdict_line_reason": "{claim}：{status}，因为{reason}。",
    "verdict_rule_z": "判定方法。每条论断比较最终训练误差（%，训练结束时对全部训练图像评分），与论文关于退化的论证一致。差距为较深网络各种子均值减去较浅网络的均值；± 为差距的标准误 √(s₁²/n₁ + s₂²/n₂)；区间为差距 ± {z} 个标准误。整个区间都满足阈值时判为观察到，整个区间都不满足时判为未观察到，否则判为此处无法判断：种子间离散越大，区间越宽，因此绝不会让论断更容易成立。{margin} 个百分点以内的差距视为没有差别。种子少于 {min_seeds} 个，或较浅网络的最终训练误差高于 {converged}%（训练太短，未收敛）时，同样无法判断。",
    "warmup_note": "这里的每个网络（普通与残差）都先以学习率 {lr} 训练，直到训练误差低于 {until}%，再使用方案中的学习率。论文只对 ResNet-110 使用这种预热；本实验对所有网络使用，使它们共用同一训练方案，因为在这个小数据集上从第一步就用 0.1 时，深层网络常常无法开始收敛。",
    "warmup_linear_note": (
        "这里的每个网络（普通与残差）都在前 {n} 次迭代（训练的 {share}%）内把学习率从 0 线性升到 {lr}。"
        "这不是论文的方案：论文只对 ResNet-110 预热（以 0.01 训练到训练误差低于 80%），而关于 ResNet 的判定依赖于这一预热。"
        "在 digits 上测得（400 次迭代，种子 0 至 2）：去掉线性升温后，plain-56 仍然退化（最终训练误差 56-73%），"
        "但 ResNet-56 在 0.1 下也无法收敛（21-64%；300 或 500 次迭代时为 15-74%），因此关于 ResNet 的论断都无法观察到；"
        "加上它（500 次迭代，种子 0 至 9），ResNet-56 在 9 个种子下降到 0.14% 或更低，另一个种子为 3.69%。0.1 对深层网络太大、无法开始收敛，正是论文为 ResNet-110 预热的理由。"
    ),
    "gradients_paper_lead": "论文第 4.1 节关于其普通网络的说法：",
    "gradients_paper_quote": "“我们也验证了在使用 BN 时反向传播的梯度范数是健康的。”",
    "responses_not_meaningful": "此处不作判定。图 7 的比较针对训练好的网络：论文的网络训练了 64k 次迭代。这些网络在小数据集上只训练了 {iterations} 次迭代，其批归一化缩放系数仍接近初始值 1（平均 |γ| 为 {gamma}），因此其响应主要反映初始化；在此给出判定并不能检验论文的论断。",
    "responses_short_note": "此处不作判定：图 7 针对充分训练的网络，而这些网络只训练了 {iterations} 次迭代，其响应主要反映初始化。",
    "fig_train_error_curves_seeds": "训练过程中的训练误差（论文图 6 的形状）。普通网络为虚线，残差网络为实线，每种深度一种颜色；点状竖线标出学习率下降处；曲线为 {n} 个种子的均值，阴影为 ± 一个标准差。",
    "fig_train_error_curves_one": "训练过程中的训练误差（论文图 6 的形状）。普通网络为虚线，残差网络为实线，每种深度一种颜色；点状竖线标出学习率下降处。每个网络一个种子。",
    "fig_error_vs_depth_seeds": "最终训练误差（左）和测试误差（右）随深度的变化；普通为虚线空心点（略偏左），残差为实线（略偏右），每种深度用其颜色；误差棒为 {n} 个种子间的一个标准差。",
    "fig_error_vs_depth_at_seeds": "第 {it} 次迭代时的训练误差（左：最后 {window} 次迭代的滑动误差）和测试误差（右）随深度的变化；普通为虚线空心点（略偏左），残差为实线（略偏右），每种深度用其颜色；误差棒为 {n} 个种子间的一个标准差。",
    "fig_error_vs_depth_at_one": "第 {it} 次迭代时的训练误差（左：最后 {window} 次迭代的滑动误差）和测试误差（右）随深度的变化；普通为虚线空心点（略偏左），残差为实线（略偏右），每种深度用其颜色。每个网络一个种子。",
    "fig_running_curves_seeds": "每 {window} 次迭代窗口内经过增强的小批量的滑动训练误差（论文图 6 的形状）。普通网络为虚线，残差网络为实线，每种深度一种颜色；曲线为 {n} 个种子的均值，阴影为 ± 一个标准差。",
    "fig_running_curves_one": "每 {window} 次迭代窗口内经过增强的小批量的滑动训练误差（论文图 6 的形状）。普通网络为虚线，残差网络为实线，每种深度一种颜色。每个网络一个种子。",
    "fig_judged_span": "灰色区域是训练的后半段，关于整个训练过程的论断在此判断。",
    "fig_error_vs_depth_one": "最终训练误差（左）和测试误差（右）随深度的变化；普通为虚线空心点（略偏左），残差为实线（略偏右），每种深度用其颜色。每个网络一个种子。",
    "scope_note": "这些判定仅适用于 {dataset} 数据集以及附录中列出的训练方案和种子；换一个规模可能得到不同的答案。",
    "gap_band": "{gap} ± {se}（{confidence}% 区间 {low} 至 {high}；Welch t，自由度 {df}）",
    "curve_weakest": "；曲线上 {k} 个点中最弱的一个，第 {step} 次迭代",
    "truncated_note": "这些网络完全按论文的方式训练了论文 {paper:,} 次迭代中的前 {n} 次（学习率 0.1：论文的降低在更后面；没有预热）。训练曲线是每 {window} 次迭代窗口内经过增强的小批量的滑动误差，与论文的曲线画法相同，而不是对训练集另做一遍评估；测试误差只在最后测一次。图 6 关于整个训练过程的论断（较深的普通网络高于较浅的；较深的 ResNet 低于较深的普通网络）在训练后半段的每个记录点上判断，必须在每一个点上都成立。关于训练结束时的论断无法从前 {n} 次迭代判断。",
    "verdict_rule": "判定方法。每条论断比较最终训练误差（%，训练结束时对全部训练图像评分），与论文关于退化的论证一致。差距为较深网络各种子均值减去较浅网络的均值；± 为差距的标准误 √(s₁²/n₁ + s₂²/n₂)。区间为 Welch 双侧 {confidence}% t 区间：差距 ± t 个标准误，t 为 Student t 分布在 Welch–Satterthwaite 自由度下的分位数（自由度随每个区间给出；每个网络 3 个种子时自由度为 2 至 4，t 为 4.30 至 2.78，而不是方差已知时的 1.96）。整个区间都满足阈值时判为观察到，整个区间都不满足时判为未观察到，否则判为此处无法判断：种子间离散越大，区间越宽，因此绝不会让论断更容易成立。{margin} 个百分点以内的差距视为没有差别。种子少于 {min_seeds} 个，或较浅网络的最终训练误差高于 {converged}%（训练太短，未收敛）时，同样无法判断。",
    "grad_old_metric": "这些梯度结果由较早版本的 reslab 保存，比较的是输入层卷积的原始梯度范数与分类器的梯度范数（种类和大小都不同的层），因此不予显示。请重新运行 `reslab study gradients` 以得到各层的相对梯度。",
    "grad_intro3": "主路径上每个卷积层的 |∇W| / |W|：卷积后接批归一化时，权重按任意比例缩放都计算同一个函数，因此一次 SGD 更新只会使 W 转动 lr·|∇W|/|W| 弧度。这一相对梯度就是该层学习的快慢，可以在输入层卷积与最后一个卷积之间比较（分类器不是卷积，不计入）。在 {batches} 训练图像批次上测量：初始化时、最初 {steps} 次 SGD 更新之后（学习率 {lr}，动量 0.9，不预热），以及退化实验中的网络训练之后。表中给出第一个卷积（输入层）与最后一个卷积之比：1 表示均匀；远大于 1 表示梯度向输入端增大。",
    "col_conv_layers": "卷积层数",
    "col_ratio_init": "第一/最后卷积层之比（初始化时）",
    "col_ratio_steps": "第 {n} 次 SGD 更新后",
    "col_ratio_trained": "训练后",
    "fig_relative_gradients": "主路径上每个卷积层的相对梯度 |∇W| / |W| 随其位置的变化（1 = 输入层卷积；对数坐标）：初始化时、最初几次 SGD 更新后以及训练后。普通为虚线，残差为实线，每种深度一种颜色。",
    "grad_uneven3": "初始化时，深度 {depth} 的普通网络第一个卷积层的学习速度是最后一个的 {plain_ratio} 倍（{trend}），残差网络为 {res_ratio} 倍：捷径连接使各层远为均匀。",
    "grad_not_uneven3": "初始化时，深度 {depth} 的普通网络各层并不明显比残差网络更不均匀：第一/最后卷积层之比 {plain_ratio} 对 {res_ratio}，而且普通网络最均匀的初始化的不均匀程度（比值偏离 1 的倍数）不到残差网络最不均匀的初始化的两倍。",
    "grad_uneven_below2": "初始化时，深度 {depth} 的普通网络各层在测得的每次初始化中都比残差网络更不均匀，但未达到该结论要求的两倍：第一/最后卷积层之比 {plain_ratio} 对 {res_ratio}（普通网络最均匀的初始化与残差网络最不均匀的初始化偏离 1 的倍数之比：{factor}）。",
    "grad_growth": "随深度变化（初始化时），普通网络的第一/最后之比{plain_how}；残差网络的{res_how}。",
    "growth_one": "每增加一层约乘以 {factor}（{chain}）",
    "growth_geometric": "呈几何增长，在每个深度区间内每增加一层都约乘以 {factor}（{chain}）",
    "growth_uneven": "在相邻深度之间每增加一层分别乘以 {factors}，并非恒定速率（{chain}）",
    "growth_then": "，然后 ",
    "grad_after_steps": "从该初始化出发，第 {n} 次 SGD 更新后，普通网络的第一/最后之比为 {chain}：在深层普通网络中，最初的更新并没有让各层变得均匀，而是把不均匀反转过来：前几层的权重变得极大，此后它们学得远比最后一层慢。",
    "gradients_measured2": "此处在初始化时测得，普通 BN 网络的梯度向输入端增大：第一个卷积层与最后一个卷积层的相对梯度之比为 {ratios}；残差网络则远为接近均匀（{res_ratios}）。Yang 等人（2019，《A Mean Field Theory of Batch Normalization》，ICLR）预言了这一点：初始化时，在没有跳跃连接的网络中，批归一化本身会使梯度随深度几何增长，而最初的优化步骤会使这种差异崩塌。论文的这句话针对训练中的网络；在初始化时，普通网络的梯度并不健康。",
    "warmup_paper_note": "与论文一致，只有 110 层及以上的网络（包括其普通网络）预热：学习率 {lr}，直到训练误差低于 {until}%，然后使用方案中的学习率；其余网络从方案中的学习率开始。",
    "plateau_held": "训练长度须满足与方案一起写明的平台期规则：每个网络都到达平台期（在训练的最后四分之一内，各种子平均的训练误差变化小于 {limit} 个百分点），并且最浅的普通网络和每个 ResNet 在每个种子下的训练误差都低于 {converged}%。此处满足：最大变化为 {change} 个百分点（{model}）；这些网络最差的最终误差为 {worst}%（{worst_model}）。",
    "plateau_not_flat": "训练长度须满足与方案一起写明的平台期规则：每个网络都到达平台期（在训练的最后四分之一内，各种子平均的训练误差变化小于 {limit} 个百分点）。此处不满足：在最后四分之一内 {moves}（种子均值的最大值减最小值），因此该网络的最终数字并未稳定在限度以内：阅读用到它的判定时请考虑这一变化。",
    "plateau_not_converged": "训练长度须满足与方案一起写明的平台期规则：最浅的普通网络和每个 ResNet 在每个种子下的训练误差都低于 {converged}%。此处不满足：{worst_model} 在某个种子下最终为 {worst}%，这次训练太短，无法说明深度的影响。",
    # 终端上的退化实验摘要（reslab study degradation、reslab demo）
    "demo_step_degradation": "[1/{steps}] 退化研究：深度 {depths} 的普通网络和残差网络，数据 digits，种子 {seeds}",
    "demo_step_gradients": "[2/{steps}] 梯度流：初始化时、最初几步后和训练后",
    "demo_step_responses": "[3/{steps}] 训练后网络的层响应",
    "demo_step_report": "[4/{steps}] 报告",
    "demo_finished": "演示完成，用时 {total} 秒（{phases}）",
    "demo_phase": "{name} {seconds} 秒",
    "demo_phase_training": "训练",
    "demo_phase_gradients": "梯度",
    "demo_phase_responses": "层响应",
    "demo_phase_report": "报告",
    "demo_and": " 和 ",
    "term_header_final": "最终训练误差（整个训练集）/ 测试误差 %（各种子的均值 ± 标准差）：",
    "term_header_running": "滑动训练误差（最近的小批量）/ 测试误差 %，第 {step} 次迭代（各种子的均值 ± 标准差）：",
    "term_verdicts": "判定（差距 = 第一个网络的误差减第二个的，单位为百分点；其 Welch t {confidence}% 区间整体满足该论断的阈值时判为观察到，整体不满足时判为未观察到）：",
    "term_gap": "差距 {gap}，区间 {low} 至 {high}：差距 ± {t} × 标准误 {se}，自由度 {df}",
    "term_weakest": "第 {step} 次迭代，{k} 个点中最弱的一个",
    "term_vs": "{deep} 对 {shallow}：{detail}",
    "term_plateau": "平台期规则（reslab.studies.degradation.PLATEAU_RULE）：{status}；最后四分之一内各种子平均训练误差的最大变化 {move} 个百分点（{net}，限度 {limit} 个百分点）",
    "term_plateau_converged": "；必须收敛的网络中最差的最终训练误差 {worst}%（{net}，限度 {limit}%）",
    "term_holds": "满足",
    "term_threshold": "阈值：{threshold}",
    "term_spread": "各种子结果差异太大",
    "term_claim": "{claim}：{status}",
    "term_claim_said": "{claim}：{status}（{said}）",
    "term_and": "；",
    "term_comma": "，",
    "term_gap_only": "差距 {gap}",
    "term_fails": "不满足",
}

WORDING: Final[dict[str, dict[str, str]]] = {"en": EN, "zh": ZH}
LANGUAGES: Final[tuple[str, ...]] = tuple(WORDING)


class Wording:
    """The words of one language: ``t("key", field=value)`` returns the formatted text."""

    def __init__(self, lang: str) -> None:
        if lang not in WORDING:
            raise ReslabError(
                f"unknown report language {lang!r}; choose one of {', '.join(LANGUAGES)}"
            )
        self.lang = lang
        self._words = WORDING[lang]

    def __call__(self, key: str, **fields: object) -> str:
        return self._words[key].format(**fields)

    def knows(self, key: str) -> bool:
        return key in self._words


FIGURE_WORDS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "iterations": "iterations",
        "train_error": "training error (%)",
        "test_error": "test error (%)",
        "curves_train_title": "Training error during training (plain dashed, residual solid)",
        "curves_running_title": "Running minibatch error during training (plain dashed, residual solid)",
        "curves_test_title": "Test error during training (plain dashed, residual solid)",
        "final_train": "final training error (%)",
        "final_test": "final test error (%)",
        "final_train_title": "Final training error vs depth",
        "final_test_title": "Final test error vs depth",
        "at_train": "running training error (%)",
        "at_test": "test error (%)",
        "at_train_title": "Training error at iteration {n} vs depth",
        "at_test_title": "Test error at iteration {n} vs depth",
        "judged_span": "claims judged here",
        "depth": "depth (weighted layers)",
        "plain": "plain",
        "residual": "residual",
        "conv_index": "conv layer (1 = the stem)",
        "relative_gradient": "|∇W| / |W|",
        "grad_init_title": "At initialisation",
        "grad_steps_title": "After SGD step {n}",
        "grad_trained_title": "After training",
        "resp_index": "3×3 layer index (original order)",
        "resp_sorted": "3×3 layer index (sorted by magnitude)",
        "resp_std": "std of layer response",
        "resp_index_title": "Response std of 3×3 layers, by layer index",
        "resp_sorted_title": "Response std of 3×3 layers, sorted by magnitude",
        "seeds_n": "n={n}",
        "predicted": "predicted class",
        "true": "true class",
        "images": "images",
        "confusion_title": "Confusion matrix, {model}",
    },
    "zh": {
        "iterations": "迭代次数",
        "train_error": "训练误差（%）",
        "test_error": "测试误差（%）",
        "curves_train_title": "训练过程中的训练误差（普通为虚线，残差为实线）",
        "curves_running_title": "训练过程中的小批量滑动误差（普通为虚线，残差为实线）",
        "curves_test_title": "训练过程中的测试误差（普通为虚线，残差为实线）",
        "final_train": "最终训练误差（%）",
        "final_test": "最终测试误差（%）",
        "final_train_title": "最终训练误差与深度",
        "final_test_title": "最终测试误差与深度",
        "at_train": "滑动训练误差（%）",
        "at_test": "测试误差（%）",
        "at_train_title": "第 {n} 次迭代时的训练误差与深度",
        "at_test_title": "第 {n} 次迭代时的测试误差与深度",
        "judged_span": "在此判断论断",
        "depth": "深度（带权重层数）",
        "plain": "普通",
        "residual": "残差",
        "conv_index": "卷积层（1 = 输入层卷积）",
        "relative_gradient": "|∇W| / |W|",
        "grad_init_title": "初始化时",
        "grad_steps_title": "第 {n} 次 SGD 更新后",
        "grad_trained_title": "训练后",
        "resp_index": "3×3 层序号（原始顺序）",
        "resp_sorted": "3×3 层序号（按大小排序）",
        "resp_std": "层响应的标准差",
        "resp_index_title": "3×3 层响应标准差（按层序号）",
        "resp_sorted_title": "3×3 层响应标准差（按大小排序）",
        "seeds_n": "n={n}",
        "predicted": "预测类别",
        "true": "真实类别",
        "images": "图像数",
        "confusion_title": "混淆矩阵，{model}",
    },
}
"""The words drawn inside figures (titles, axes, legends), per language."""
